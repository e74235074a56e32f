"""The role the portal runs as cannot rewrite the ledger, and can still append to it and read.

The role is made by `grant_app_role` on the test database, exactly as docker-compose's
`migrate` service makes it; a second process connects as it.
"""

import json
import subprocess

import pytest
from django.core.management import call_command

from tests.deploy.env import PYTHON, ROOT

# Runs as the application role: appends through consent.services, reads back, verifies the
# chain, then tries each way of rewriting the ledger and reports what the database said.
AS_APP_ROLE = r"""
import json
import django
django.setup()
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from consent.ledger import verify_chain
from consent.models import ConsentRecord
from consent.services import RequestContext, append_record

user = get_user_model().objects.create_user(username="ada@example.test", email="ada@example.test")
with transaction.atomic():
    record = append_record(
        subject=user, about_kind="security-test", about_id=1, action="opt_in",
        terms_sha256="a" * 64, terms_version="1", actor=user, context=RequestContext(),
        private_reason="only mine",
    )
out = {
    "appended": ConsentRecord.objects.filter(pk=record.pk).exists(),
    "read": ConsentRecord.objects.filter(subject=user).count(),
    "intact": verify_chain().intact,
    "attempts": {},
}
with connection.cursor() as cursor:
    cursor.execute(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'consent_consentrecord'::regclass "
        "AND NOT tgisinternal ORDER BY tgname LIMIT 1"
    )
    guard = cursor.fetchone()[0]
attempts = {
    "update": "UPDATE consent_consentrecord SET action = 'opt_out'",
    "delete": "DELETE FROM consent_consentrecord",
    "truncate": "TRUNCATE consent_consentrecord CASCADE",
    "truncate_terms": "TRUNCATE consent_termsdocument CASCADE",
    "delete_access_log": "DELETE FROM consent_accesslogentry",
    "disable_trigger": "ALTER TABLE consent_consentrecord DISABLE TRIGGER ALL",
    "drop_trigger": "DROP TRIGGER " + guard + " ON consent_consentrecord",
    "replication_role": "SET session_replication_role = replica",
    "create_table": "CREATE TABLE shadow_ledger (id int)",
    "grant_self_then_update": "GRANT UPDATE ON consent_consentrecord TO CURRENT_USER; "
    "UPDATE consent_consentrecord SET action = 'opt_out'",
}
for name, statement in attempts.items():
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
        out["attempts"][name] = "allowed"
    except DatabaseError as exc:
        out["attempts"][name] = type(exc.__cause__ or exc).__name__
out["after"] = ConsentRecord.objects.count()
print("RESULT " + json.dumps(out))
"""


def _run_as_app_role(database_url, script):
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [PYTHON, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def test_the_application_role_appends_and_reads_but_cannot_rewrite_the_ledger(roles_database):
    result = _run_as_app_role(roles_database["app_url"], AS_APP_ROLE)
    assert result["appended"] and result["read"] == 1 and result["intact"]
    # Every attempt was refused for want of the privilege, before any trigger had to say no.
    assert result["attempts"] == {
        "update": "InsufficientPrivilege",
        "delete": "InsufficientPrivilege",
        "truncate": "InsufficientPrivilege",
        "truncate_terms": "InsufficientPrivilege",
        "delete_access_log": "InsufficientPrivilege",
        "disable_trigger": "InsufficientPrivilege",
        "drop_trigger": "InsufficientPrivilege",
        "replication_role": "InsufficientPrivilege",
        "create_table": "InsufficientPrivilege",
        "grant_self_then_update": "InsufficientPrivilege",
    }, result["attempts"]
    assert result["after"] == 1


def test_grant_app_role_names_the_ledger_and_every_table_guarded_as_append_only(roles_database):
    granted = roles_database["granted"]
    assert "SELECT and INSERT only on" in granted
    for table in ("consent_consentrecord", "consent_termsdocument", "consent_accesslogentry"):
        assert table in granted
    # Found by its guard (a *_reject_change trigger), not by name: the export log.
    assert "privacy_dataexport" in granted


@pytest.mark.django_db
def test_grant_app_role_is_idempotent(capsys):
    # Inside the test's transaction: the role it creates is rolled back with it.
    call_command("grant_app_role", role="portal_app_idempotence_probe")
    first = capsys.readouterr().out
    call_command("grant_app_role", role="portal_app_idempotence_probe")
    assert capsys.readouterr().out == first


@pytest.mark.django_db
def test_grant_app_role_refuses_the_role_it_connects_as():
    from django.core.management import CommandError
    from django.db import connection

    with pytest.raises(CommandError, match="is the role this command connects as"):
        call_command("grant_app_role", role=connection.settings_dict["USER"])
