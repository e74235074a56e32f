# ruff: noqa: E501  (the script below is run as is in a subprocess)
"""A ledger written in the first format migrates to format 2 once: every reason sealed, every
record numbered and re-chained, its old hash kept, an epoch row naming the old and new heads,
and the append-only trigger back on. A broken first-format chain is refused, not laundered.

Run in a subprocess on a database of its own (PostgreSQL, the production path, and SQLite,
`make run`'s), because migrating backwards is not something to do to the shared test database.
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from consent import crypto

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import os, subprocess, django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

call_command("migrate", "consent", "0005", verbosity=0)  # the first ledger format
apps = MigrationExecutor(connection).loader.project_state([("consent", "0005_access_log")]).apps
User = apps.get_model("auth", "User")
Record = apps.get_model("consent", "ConsentRecord")
from consent.ledger import record_hash_v1

people = [User.objects.create(username=f"u{n}", email=f"u{n}@x.test") for n in range(3)]
head, old = "0" * 64, []
for n, (person, reason) in enumerate(
    [(people[0], "canary-v1 first"), (people[1], ""), (people[0], "canary-v1 second"), (people[2], "canary-v1 third")]
):
    fields = dict(subject_id=person.pk, about_kind="data_use", about_id=str(n), action="opt_out",
                  terms_sha256="ab" * 32, terms_version="1", actor_id=person.pk, channel="web",
                  recorded_at=timezone.now(), ip_address="203.0.113.7", user_agent="ua",
                  private_reason=reason, prev_hash=head)
    fields["hash"] = head = record_hash_v1(fields)
    if os.environ.get("BREAK_AT") == str(n):
        fields["action"] = "opt_in"  # changed after hashing: a broken first-format chain
    Record.objects.create(**fields)
    old.append(fields["hash"])

try:
    call_command("migrate", verbosity=0)
except RuntimeError as exc:
    print("REFUSED", exc)
    from django.db.migrations.recorder import MigrationRecorder
    applied = {name for app, name in MigrationRecorder(connection).applied_migrations() if app == "consent"}
    print("APPLIED_0007", "0007_rechain_ledger_format_2" in applied)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM consent_consentrecord WHERE private_reason LIKE 'canary%%'")
        print("PLAINTEXT_LEFT", cursor.fetchone()[0])
    raise SystemExit(0)

from django.db import IntegrityError, transaction
from consent.models import ConsentRecord, LedgerEpoch
from consent.selectors import private_reason_of
from django.contrib.auth import get_user_model

rows = list(ConsentRecord.objects.order_by("seq"))
assert [r.seq for r in rows] == [1, 2, 3, 4], [r.seq for r in rows]
assert [r.format for r in rows] == [2] * 4
assert [r.legacy_hash for r in rows] == old
assert rows[0].prev_hash == "0" * 64 and all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:]))
[epoch] = LedgerEpoch.objects.all()
assert (epoch.previous_format, epoch.format, epoch.records) == (1, 2, 4)
assert epoch.old_head_hash == old[-1] and epoch.new_head_hash == rows[-1].hash
first, second = get_user_model().objects.get(pk=people[0].pk), get_user_model().objects.get(pk=people[1].pk)
assert private_reason_of(rows[0], first) == "canary-v1 first"
assert private_reason_of(rows[2], first) == "canary-v1 second"
assert private_reason_of(rows[0], second) == "" and not rows[1].reason_given
assert rows[0].reason_key_id == rows[2].reason_key_id != rows[3].reason_key_id
call_command("verify_ledger")
try:
    with transaction.atomic():
        ConsentRecord.objects.filter(pk=rows[0].pk).update(action="opt_in")
    print("UPDATE ACCEPTED")
except IntegrityError:
    print("UPDATE REFUSED")
if connection.vendor == "postgresql":
    db = connection.settings_dict
    dump = subprocess.run(["pg_dump", "-h", db["HOST"], "-p", str(db["PORT"]), "-U", db["USER"], db["NAME"]],
                          capture_output=True, text=True, check=True).stdout
    print("DUMP_HAS_CANARY", "canary-v1" in dump, "DUMP_HAS_CIPHERTEXT", rows[0].reason_ciphertext in dump)
print("MIGRATED")
"""


def _run(database_url: str, **extra) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": database_url,
        "PORTAL_LEDGER_MASTER_KEY": crypto.generate_master_key(),
        **extra,
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture
def postgres_url(db):
    """A fresh, empty PostgreSQL database beside the test database, dropped afterwards."""
    settings = connection.settings_dict
    name = f"{settings['NAME']}_migration_{uuid.uuid4().hex[:8]}"
    server = f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{server}/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
def test_a_first_format_ledger_on_postgresql_is_re_chained_sealed_and_locked_again(postgres_url):
    out = _run(postgres_url).stdout
    assert "MIGRATED" in out
    assert "UPDATE REFUSED" in out  # the owner's trigger switch was for that migration only
    assert "DUMP_HAS_CANARY False DUMP_HAS_CIPHERTEXT True" in out


def test_a_first_format_ledger_on_sqlite_is_re_chained_and_keeps_its_triggers(tmp_path):
    out = _run(f"sqlite:///{tmp_path / 'v1.sqlite3'}").stdout
    assert "MIGRATED" in out and "UPDATE REFUSED" in out


def test_a_broken_first_format_chain_is_refused_and_nothing_changes(tmp_path):
    out = _run(f"sqlite:///{tmp_path / 'broken.sqlite3'}", BREAK_AT="1").stdout
    assert "REFUSED ledger broken at record 2 (format 1)" in out
    assert "APPLIED_0007 False" in out
    assert "PLAINTEXT_LEFT 3" in out  # rolled back: the operator can still investigate
