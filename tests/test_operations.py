"""What an operator runs: demo seeding, the health check, the embedded SQLite setup."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from assignments.models import Proposal
from consent.ledger import verify_chain
from people.models import Employee

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_gives_the_promised_logins(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    counts = (Employee.objects.count(), Proposal.objects.count())
    call_command("seed_demo")
    assert (Employee.objects.count(), Proposal.objects.count()) == counts
    for email in ("employee@demo.test", "manager@demo.test", "hr@demo.test", "admin@demo.test"):
        assert authenticate(username=email, password="portal-demo") is not None, email
    eve = Employee.objects.get(email="employee@demo.test")
    kinds = sorted(eve.proposals.filter(state="pending").values_list("kind", flat=True))
    assert kinds == ["retroactive", "transfer"]
    assert eve.manager.email == "manager@demo.test"
    assert authenticate(username="admin@demo.test", password="portal-demo").is_superuser


@pytest.mark.django_db
def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only with DJANGO_DEBUG=1"):
        call_command("seed_demo")
    assert not Employee.objects.exists()


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_healthz_says_which_part_is_down(client, settings):
    from portal.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["broker"].startswith("error")


def test_the_embedded_sqlite_setup_has_the_same_guards(tmp_path):
    """`make run` runs on SQLite: its triggers must refuse what PostgreSQL refuses."""
    env = {**os.environ, "DJANGO_DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path}/p.sqlite3"}
    env.pop("REDIS_URL", None)
    script = """
import django, sys
django.setup()
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
call_command("migrate", verbosity=0)
call_command("seed_demo", verbosity=0)
from assignments.models import Move, Proposal
from people.models import Employee, Team
from assignments.services import opt_in
from consent.models import ConsentRecord
from consent.services import RequestContext
eve = Employee.objects.get(email="employee@demo.test")
p = eve.proposals.get(kind="transfer")
record = opt_in(proposal=p, actor=eve.user, terms_sha256=p.terms_sha256, context=RequestContext())
refused = []
for label, sql in [
    ("ledger update", "UPDATE consent_consentrecord SET action='opt_out'"),
    ("ledger delete", "DELETE FROM consent_consentrecord"),
    ("team change", f"UPDATE assignments_employee SET team_id={p.to_team_id} WHERE id={eve.id}"),
    ("move for other team", "INSERT INTO assignments_move (proposal_id, employee_id, from_team_id,"
        f" to_team_id, opt_in_record_id, effective_date, applied_at) VALUES ({p.id}, {eve.id},"
        f" {eve.team_id}, {eve.team_id}, {record.id}, '2030-01-01', '2030-01-01')"),
]:
    try:
        with transaction.atomic(), connection.cursor() as c:
            c.execute(sql)
    except IntegrityError:
        refused.append(label)
print(",".join(refused))
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.splitlines()[-1]
        == "ledger update,ledger delete,team change,move for other team"
    )


@pytest.mark.django_db
def test_seeded_demo_ledger_verifies(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    assert verify_chain().intact


def service_check_output(*, database_url: str, redis_url: str) -> str:
    """Run the check `make test` starts with; it must fail with exactly one line."""
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    result = subprocess.run(
        [sys.executable, "tests/check_services.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    [line] = result.stdout.strip().splitlines()
    return line


def test_make_test_explains_in_one_line_when_postgres_is_down():
    line = service_check_output(
        database_url="postgres://postgres@127.0.0.1:1/test", redis_url="redis://127.0.0.1:6379/0"
    )
    assert line.startswith("PostgreSQL is not reachable at postgres://postgres@127.0.0.1:1/test")


def test_make_test_explains_in_one_line_when_redis_is_down():
    line = service_check_output(
        database_url="postgres://postgres@127.0.0.1:5432/postgres",  # up, so Redis is next
        redis_url="redis://127.0.0.1:1/0",
    )
    assert line.startswith("Redis is not reachable at redis://127.0.0.1:1/0")


@pytest.mark.django_db
def test_the_admin_shows_the_ledger_read_only(admin_client, proposal, employee):
    from assignments.services import opt_in
    from tests.conftest import WEB

    record = opt_in(
        proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB
    )
    listing = admin_client.get("/admin/consent/consentrecord/")
    assert listing.status_code == 200
    assert b"Opted in" in listing.content
    page = admin_client.get(f"/admin/consent/consentrecord/{record.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content  # no save button: view only
    assert admin_client.get("/admin/consent/consentrecord/add/").status_code == 403
    deleting = admin_client.post(
        f"/admin/consent/consentrecord/{record.pk}/delete/", {"post": "yes"}
    )
    assert deleting.status_code == 403
    assert admin_client.get(f"/admin/consent/consentrecord/{record.pk}/change/").status_code == 200
