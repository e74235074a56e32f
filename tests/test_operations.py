"""What an operator runs: demo seeding, the health check, the embedded SQLite setup."""

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMessage
from django.core.management import CommandError, call_command
from django.http import Http404
from django.urls import path

from assignments.models import Proposal
from consent.ledger import verify_chain
from consent.models import ConsentRecord
from notifications.backends import SummaryConsoleBackend
from notifications.models import Notification
from notifications.rendering import build_message
from people.models import Employee

ROOT = Path(__file__).resolve().parent.parent


def _boom(request):
    raise RuntimeError("a real fault")


def _forbidden(request):
    raise PermissionDenied("not yours")


def _missing(request):
    raise Http404("no such thing")


def __getattr__(name):
    """This module's `urlpatterns`, built when Django first asks (a test below sets
    ROOT_URLCONF here): the portal's pages plus three that fail on purpose."""
    if name != "urlpatterns":
        raise AttributeError(name)
    from portal.urls import urlpatterns

    return [
        path("test-boom/", _boom),
        path("test-forbidden/", _forbidden),
        path("test-missing/", _missing),
        *urlpatterns,
    ]


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
    with pytest.raises(CommandError, match="--reset erases the whole database; it runs only with"):
        call_command("seed_demo", reset=True)
    assert not Employee.objects.exists()


@pytest.mark.django_db
def test_seed_demo_reset_refuses_postgresql_and_changes_nothing(settings):
    """The ledger's triggers refuse DELETE; TRUNCATE would slip past them, so on a server
    database the reset is refused and dropping the database stays the operator's own act."""
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    eve = Employee.objects.get(email="employee@demo.test")
    from assignments.services import opt_in
    from tests.conftest import WEB

    transfer = eve.proposals.get(kind="transfer")
    opt_in(proposal=transfer, actor=eve.user, terms_sha256=transfer.terms_sha256, context=WEB)
    before = (Employee.objects.count(), Proposal.objects.count(), ConsentRecord.objects.count())
    with pytest.raises(CommandError, match="embedded SQLite database of `make run` only") as exc:
        call_command("seed_demo", reset=True, stdout=io.StringIO())
    assert "postgresql" in str(exc.value)
    assert "dropdb" in str(exc.value)
    after = (Employee.objects.count(), Proposal.objects.count(), ConsentRecord.objects.count())
    assert after == before
    assert eve.proposals.get(kind="transfer").state == "opted_in"
    assert verify_chain().intact


# Runs one step of the demo's life in its own process on an SQLite file, as `make run` does.
# Tasks run eagerly (the emails are "sent" in this process, through the DEBUG email backend),
# so nothing is left in the checkout's var/broker/. Prints a snapshot: every model's row count
# and every proposal's id, person, kind and state.
DEMO_STEP = """
import json, sys
import django
django.setup()
from portal.celery import app
app.conf.task_always_eager = True
from django.apps import apps
from django.core.management import call_command, execute_from_command_line
from django.db import IntegrityError, connection, transaction

step = sys.argv[1]
if step == "first":
    call_command("migrate", verbosity=0)
    execute_from_command_line(["manage.py", "seed_demo"])
elif step == "reset":
    execute_from_command_line(["manage.py", "seed_demo", "--reset"])
elif step == "decide":
    from assignments.services import opt_in
    from consent.services import RequestContext
    from people.models import Employee
    eve = Employee.objects.get(email="employee@demo.test")
    p = eve.proposals.get(kind="transfer")
    opt_in(proposal=p, actor=eve.user, terms_sha256=p.terms_sha256, context=RequestContext())
    for label, sql in [
        ("update", "UPDATE consent_consentrecord SET action='opt_out'"),
        ("delete", "DELETE FROM consent_consentrecord"),
    ]:
        try:
            with transaction.atomic(), connection.cursor() as c:
                c.execute(sql)
            print("ALLOWED " + label)
        except IntegrityError:
            print("REFUSED " + label)
from assignments.models import Proposal
counts = {m._meta.label: m._default_manager.count() for m in apps.get_models()}
proposals = sorted(Proposal.objects.values_list("id", "employee__email", "kind", "state"))
print("SNAPSHOT " + json.dumps({"counts": counts, "proposals": proposals}))
"""


def _demo_step(step: str, database: Path) -> tuple[dict, list[str], str]:
    env = {
        **os.environ,
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{database}",
        "PORTAL_BASE_URL": "http://127.0.0.1:8040",
    }
    env.pop("REDIS_URL", None)
    env.pop("EMAIL_BACKEND", None)
    result = subprocess.run(
        [sys.executable, "-c", DEMO_STEP, step],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    [snapshot] = [json.loads(line[9:]) for line in lines if line.startswith("SNAPSHOT ")]
    return snapshot, lines, result.stderr


def _guards(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith(("REFUSED", "ALLOWED"))]


def test_seed_demo_reset_replays_the_demo_from_its_first_state(tmp_path):
    """Seed, decide, reset: the decision is gone, the demo proposals are pending again, every
    table holds what it held after the first seeding, and the ledger's guards are back."""
    database = tmp_path / "demo.sqlite3"
    first, _, first_stderr = _demo_step("first", database)
    demo_people = {"employee@demo.test", "sam@demo.test"}
    eve_and_sam = [state for _, email, _, state in first["proposals"] if email in demo_people]
    assert eve_and_sam == ["pending"] * 3
    # HR's demo campaign (demo/hr.py) holds decisions in every state.
    seeded_records = first["counts"]["consent.ConsentRecord"]
    assert seeded_records > 0
    # One line per email, pointing at the in-app list on the address `make run` serves.
    email_lines = [line for line in first_stderr.splitlines() if line.startswith("  email to ")]
    # Eve's two proposals and Sam's; HR's backdated demo history is in-app only, not emailed.
    assert len(email_lines) == 3 < first["counts"]["notifications.Notification"]
    assert all(
        line.endswith(" - read it at http://127.0.0.1:8040/notifications/") for line in email_lines
    )
    assert "Content-Type" not in first_stderr

    decided, lines, _ = _demo_step("decide", database)
    assert _guards(lines) == ["REFUSED update", "REFUSED delete"]
    assert decided["counts"]["consent.ConsentRecord"] == seeded_records + 1
    assert ("employee@demo.test", "transfer", "opted_in") in {
        tuple(p[1:]) for p in decided["proposals"]
    }

    reset, lines, _ = _demo_step("reset", database)
    assert any(line.startswith("database emptied (") for line in lines), lines
    assert reset == first  # same rows everywhere, same ids, every proposal pending again
    assert reset["counts"]["consent.ConsentRecord"] == seeded_records

    # The reset recreated the ledger's triggers with the tables: it never switched them off.
    _, lines, _ = _demo_step("decide", database)
    assert _guards(lines) == ["REFUSED update", "REFUSED delete"]


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_healthz_reports_only_its_status_and_checks_never_settings(client, settings):
    settings.DEBUG = True  # as under `make run`: still not said
    response = client.get("/healthz")
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


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
    assert set(response.json()) == {"status", "checks"}
    assert response.json()["status"] == "unavailable"
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


def _make_run_dry(*args: str, **env: str) -> str:
    """The commands `make run` would run (make -n), without running them."""
    result = subprocess.run(
        ["make", "-n", "run", *args],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k != "PORTAL_BASE_URL"}, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_run_on_another_port_links_emails_to_that_port():
    commands = _make_run_dry("PORT=8040")
    assert "runserver 127.0.0.1:8040" in commands
    # migrate, seed_demo, and the server with its worker all see the address served
    assert commands.count("PORTAL_BASE_URL='http://127.0.0.1:8040'") == 3
    assert "read them at http://127.0.0.1:8040/notifications/" in commands
    # ... unless the operator names the public address themselves
    given = _make_run_dry("PORT=8040", PORTAL_BASE_URL="https://portal.example.test")
    assert given.count("PORTAL_BASE_URL='https://portal.example.test'") == 3
    assert "PORTAL_BASE_URL='http://127.0.0.1:8040'" not in given


def _eves_proposal_email(settings):
    """The email telling the demo's Eve about her transfer, as the worker would build it."""
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    eve = Employee.objects.get(email="employee@demo.test")
    transfer = eve.proposals.get(kind="transfer")
    notification = Notification.objects.get(
        recipient=eve.user, kind="proposal_arrived", url__contains=f"/proposals/{transfer.pk}/"
    )
    return build_message(notification, "eve@example.test"), transfer


@pytest.mark.django_db
def test_email_links_follow_portal_base_url(settings):
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8040"
    message, transfer = _eves_proposal_email(settings)
    assert f"http://127.0.0.1:8040/proposals/{transfer.pk}/" in message.body
    assert "127.0.0.1:8000" not in message.body


@pytest.mark.django_db
def test_the_debug_email_backend_prints_one_line_per_email(settings):
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8040"
    portal_email, _ = _eves_proposal_email(settings)
    other_email = EmailMessage(  # not a notification, e.g. allauth's password reset
        subject="Password reset\n e-mail",
        body="Follow http://127.0.0.1:8040/accounts/password/reset/key/1-abc/ to reset it.",
        to=["eve@example.test"],
    )
    stream = io.StringIO()
    assert SummaryConsoleBackend(stream=stream).send_messages([portal_email, other_email]) == 2
    first, second = stream.getvalue().splitlines()
    assert first == (
        f'  email to eve@example.test: "{portal_email.subject}"'
        " - read it at http://127.0.0.1:8040/notifications/"
    )
    assert second == (
        '  email to eve@example.test: "Password reset e-mail"'
        " - links: http://127.0.0.1:8040/accounts/password/reset/key/1-abc/"
    )


def test_debug_uses_the_one_line_email_backend():
    env = {**os.environ, "DJANGO_DEBUG": "1", "PORTAL_BASE_URL": "http://127.0.0.1:8040"}
    env.pop("EMAIL_BACKEND", None)
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.EMAIL_BACKEND, settings.PORTAL_BASE_URL)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "notifications.backends.SummaryConsoleBackend",
        "http://127.0.0.1:8040",
    ]


@pytest.mark.django_db
def test_expected_403_and_404_answers_log_nothing_and_faults_keep_their_traceback(
    client, settings, caplog
):
    settings.ROOT_URLCONF = __name__
    client.raise_request_exception = False
    with caplog.at_level(logging.INFO):
        assert client.get("/test-forbidden/").status_code == 403
        assert client.get("/test-missing/").status_code == 404
        assert client.get("/no-such-page/").status_code == 404
        assert [r for r in caplog.records if r.name.startswith("django")] == []
        assert client.get("/test-boom/").status_code == 500
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelno == logging.ERROR
    assert record.exc_info and record.exc_info[0] is RuntimeError


def test_runserver_access_log_shows_only_what_went_wrong(caplog):
    server = logging.getLogger("django.server")
    with caplog.at_level(logging.INFO):
        for status in (200, 302):  # runserver logs these at INFO, 4xx at WARNING
            server.info('"GET / HTTP/1.1" %s 10', status, extra={"status_code": status})
        for status in (403, 404):
            server.warning('"GET / HTTP/1.1" %s 10', status, extra={"status_code": status})
        assert caplog.records == []
        server.error('"GET / HTTP/1.1" 500 10', extra={"status_code": 500})
        server.warning('"POST / HTTP/1.1" 405 10', extra={"status_code": 405})
    assert [r.getMessage() for r in caplog.records] == [
        '"GET / HTTP/1.1" 500 10',
        '"POST / HTTP/1.1" 405 10',
    ]


def test_the_filesystem_transport_hostname_warning_is_quiet(caplog):
    kombu = logging.getLogger("kombu.connection")
    with caplog.at_level(logging.WARNING):
        kombu.warning("No hostname was supplied. Reverting to default 'localhost'")
        kombu.warning("Secure redis scheme specified (rediss) with no ssl options")
    assert [r.getMessage() for r in caplog.records] == [
        "Secure redis scheme specified (rediss) with no ssl options"
    ]
