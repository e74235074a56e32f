"""Backup and restore: a `pg_dump` of the live database, restored into a new one, still passes
`verify_ledger --checkpoint` against a checkpoint signed before the dump; a restore that lost
the newest record does not.

The restored copy is checked by a separate process, as an operator would after a restore: its
own DATABASE_URL, the same ledger master key and receipt signing keys, debug off.
"""

import subprocess
import uuid
from contextlib import contextmanager

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from psycopg import sql

from assignments.services import opt_in, opt_out, propose_transfer
from consent import crypto, signing
from consent.models import ConsentRecord
from datause import services as datause
from tests.assignments.helpers import ROLE
from tests.conftest import WEB
from tests.datause.conftest import make_purpose
from tests.deploy.env import PYTHON, ROOT, production_env

pytestmark = pytest.mark.django_db(transaction=True)  # pg_dump sees only committed data


def _url(name: str) -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def _pg_env() -> dict:
    db = connection.settings_dict
    env = {
        "PATH": "/usr/bin:/bin",
        "PGHOST": db["HOST"] or "127.0.0.1",
        "PGPORT": str(db["PORT"] or 5432),
        "PGUSER": db["USER"],
    }
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return env


@pytest.fixture
def keys(settings):
    """Keys of this test's own, set here and handed to the verifying process."""
    settings.PORTAL_LEDGER_MASTER_KEY = crypto.generate_master_key()
    settings.PORTAL_RECEIPT_SIGNING_KEYS = signing.generate_pem()
    return {
        "PORTAL_LEDGER_MASTER_KEY": settings.PORTAL_LEDGER_MASTER_KEY,
        "PORTAL_RECEIPT_SIGNING_KEYS": settings.PORTAL_RECEIPT_SIGNING_KEYS,
    }


@pytest.fixture
def decisions(keys, employee, outsider, manager, proposal, payments, deadline, start_date):
    """An opt-in, an opt-out with a sealed private reason, and a data-use choice."""
    declined = propose_transfer(
        employee=outsider,
        to_team=proposal.to_team,
        actor=manager.user,
        role_description=ROLE,
        start_date=start_date,
        response_deadline=deadline,
    )
    records = [
        opt_in(
            proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB
        ),
        opt_out(
            proposal=declined,
            actor=outsider.user,
            private_reason="caring for a parent; canary-restore-7f3a",
            context=WEB,
        ),
    ]
    purpose = make_purpose(manager)
    records.append(
        datause.opt_in(
            purpose=purpose, actor=employee.user, terms_sha256=purpose.terms_sha256, context=WEB
        )
    )
    return records


@contextmanager
def restored_copy():
    """Dump the test database and restore it into a new database; dropped on the way out."""
    name = f"{connection.settings_dict['NAME']}_restored_{uuid.uuid4().hex[:8]}"
    env = _pg_env()
    admin = psycopg.connect(_url("postgres"), autocommit=True)
    try:
        dump = subprocess.run(
            ["pg_dump", "--format=custom", "--no-owner", connection.settings_dict["NAME"]],
            env=env, capture_output=True, timeout=120, check=True,
        )  # fmt: skip
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        loaded = subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", name],
            input=dump.stdout, env=env, capture_output=True, timeout=120,
        )  # fmt: skip
        assert loaded.returncode == 0, loaded.stderr.decode()[-3000:]
        yield _url(name)
    finally:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.close()


def verify_restored(url: str, checkpoint, keys: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "manage.py", "verify_ledger", f"--checkpoint={checkpoint}"],
        cwd=ROOT, env=production_env(DATABASE_URL=url, **keys),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture
def checkpoint(decisions, tmp_path, capsys):
    """Signed before the backup, kept outside the database, as the hourly beat does."""
    path = tmp_path / "before-backup.jws"
    call_command("checkpoint_ledger", "--out", str(path))
    count = ConsentRecord.objects.count()
    assert f"checkpoint written to {path}: {count} records" in capsys.readouterr().out
    return path


def test_a_restored_dump_passes_verify_ledger_against_the_checkpoint(checkpoint, keys):
    count = ConsentRecord.objects.count()
    assert count >= 3
    with restored_copy() as url:
        done = verify_restored(url, checkpoint, keys)
        assert done.returncode == 0, done.stderr[-3000:]
        assert f"ledger intact: {count} records verified; 1 checkpoints agree" in done.stdout
        with psycopg.connect(url) as copy:
            restored_count, sealed, plain = copy.execute(
                "SELECT count(*), count(*) FILTER (WHERE reason_ciphertext <> ''), "
                "count(*) FILTER (WHERE reason_ciphertext LIKE %s) FROM consent_consentrecord",
                ["%canary-restore%"],
            ).fetchone()
    # Every record came back; the private reason came back sealed, never in clear.
    assert (restored_count, sealed, plain) == (count, 1, 0)


def test_a_restore_missing_the_newest_record_fails_against_the_checkpoint(checkpoint, keys):
    newest = ConsentRecord.objects.order_by("-seq").first()
    with restored_copy() as url:
        with psycopg.connect(url, autocommit=True) as copy:
            # Only the owner can do this: switch the append-only trigger off first.
            copy.execute(
                "ALTER TABLE consent_consentrecord DISABLE TRIGGER consent_ledger_append_only"
            )
            deleted = copy.execute(
                "DELETE FROM consent_consentrecord WHERE seq = %s", [newest.seq]
            ).rowcount
            copy.execute(
                "ALTER TABLE consent_consentrecord ENABLE TRIGGER consent_ledger_append_only"
            )
        assert deleted == 1
        done = verify_restored(url, checkpoint, keys)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "intact" not in done.stdout
    assert f"missing tail: the ledger ends at sequence number {newest.seq - 1}" in done.stderr
