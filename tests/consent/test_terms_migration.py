# ruff: noqa: E501  (the script below is run as is in a subprocess)
"""A database migrated from the first terms format keeps a verifying ledger and gains the
documents of its proposals (assignments.0005). Run on a fresh SQLite file in a subprocess,
because migrating backwards and forwards is not something to do to the shared test database."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import hashlib, importlib, json, django
from datetime import date, timedelta
django.setup()
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

call_command("migrate", "assignments", "0004", verbosity=0)  # the schema before documents
state = MigrationExecutor(connection).loader.project_state(
    [("assignments", "0004_people_own_team_and_employee"), ("consent", "0003_recorded_at_index")]
)
apps = state.apps
User = apps.get_model("auth", "User")
Team, Employee = apps.get_model("people", "Team"), apps.get_model("people", "Employee")
Campaign, Proposal = apps.get_model("assignments", "Campaign"), apps.get_model("assignments", "Proposal")
legacy = importlib.import_module("assignments.migrations.0005_terms_documents")._legacy_terms
from consent.ledger import record_hash_v1
Record = apps.get_model("consent", "ConsentRecord")
head = "0" * 64

platform = Team.objects.create(name="Platform", slug="platform")
ai = Team.objects.create(name="Applied AI", slug="ai", kind="ai_initiative")
boss = User.objects.create(username="b", email="b@x.test")
drive = Campaign.objects.create(name="Drive", slug="drive", description="Honest words.", created_by=boss)
made = []
for n, campaign in enumerate([None, drive, drive]):
    user = User.objects.create(username=f"u{n}", email=f"u{n}@x.test")
    person = Employee.objects.create(user=user, name=f"Person {n}", email=user.email, team=platform)
    p = Proposal(employee=person, from_team=platform, to_team=ai, proposed_by=boss, campaign=campaign,
                 role_description="Label data.", start_date=date(2027, 1, 4),
                 response_deadline=timezone.now() + timedelta(days=9), terms_version="1",
                 state="opted_in")  # what its opt-in below made it
    p.terms_sha256 = hashlib.sha256(json.dumps(legacy(p), sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()
    p.save()
    # A record of the first ledger format, as its services wrote it then (consent 0003).
    fields = dict(subject_id=user.pk, about_kind="proposal", about_id=str(p.pk), action="opt_in",
                  terms_sha256=p.terms_sha256, terms_version="1", actor_id=user.pk, channel="web",
                  recorded_at=timezone.now(), ip_address=None, user_agent="", private_reason="",
                  prev_hash=head)
    fields["hash"] = head = record_hash_v1(fields)
    Record.objects.create(**fields)
    made.append(p.pk)
# An edit after sending: that proposal's first-format words can no longer be reproduced.
Campaign.objects.filter(pk=drive.pk).update(description="Edited later.")

call_command("migrate", verbosity=0)
from assignments.models import Proposal as Current
from consent.models import TermsDocument
stored = [Current.objects.get(pk=pk).terms_sha256 in set(TermsDocument.objects.values_list("sha256", flat=True)) for pk in made]
doc = TermsDocument.objects.get(sha256=Current.objects.get(pk=made[0]).terms_sha256)
assert hashlib.sha256(doc.body.encode()).hexdigest() == doc.sha256
print("stored", stored)
call_command("verify_ledger")
"""


def test_a_migrated_database_keeps_its_chain_and_gains_its_terms_documents(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'migrated.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # The unedited proposal's words are recovered; the edited campaign's two are not guessed.
    assert "stored [True, False, False]" in result.stdout
    assert "ledger intact: 3 records verified" in result.stdout
