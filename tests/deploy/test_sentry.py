"""Errors go to Sentry only when SENTRY_DSN is set, and without a person's data."""

import subprocess

import pytest
import sentry_sdk
from django.urls import path
from sentry_sdk.transport import Transport

from portal.sentry import init_sentry
from tests.deploy.env import PYTHON, ROOT, production_env

CANARY = "my-private-reason-canary-7731"


class Captured(Transport):
    envelopes: list = []

    def capture_envelope(self, envelope):
        Captured.envelopes.append(envelope)


def _fails(request):
    raise RuntimeError("a real fault")


urlpatterns = [path("fails/", _fails)]


@pytest.fixture
def sentry_capture():
    Captured.envelopes = []
    init_sentry("https://public@sentry.example.test/1", transport=Captured)
    yield Captured.envelopes
    sentry_sdk.get_global_scope().set_client(None)  # off again for the tests after this one
    assert not sentry_sdk.get_client().is_active()


@pytest.mark.django_db
@pytest.mark.urls("tests.deploy.test_sentry")
def test_a_server_error_is_reported_without_the_request_body_or_the_person(
    client, employee, sentry_capture
):
    client.raise_request_exception = False
    client.force_login(employee.user)
    response = client.post(
        f"/fails/?reason={CANARY}", {"private_reason": CANARY}, headers={"X-Secret": CANARY}
    )
    assert response.status_code == 500
    sentry_sdk.flush()
    events = [
        item.payload.json for env in sentry_capture for item in env.items if item.type == "event"
    ]
    assert len(events) == 1
    [event] = events
    assert event["exception"]["values"][-1]["value"] == "a real fault"
    # Django's test client has no WSGI environ for the SDK to read the address from; under
    # gunicorn the method and the address (without its query) are all that is kept.
    assert set(event.get("request", {})) <= {"method", "url"}
    assert "user" not in event
    assert CANARY not in repr(event)


def _client_active(**env) -> str:
    done = subprocess.run(
        [PYTHON, "-c", "import django, sentry_sdk; django.setup(); "
         "print(sentry_sdk.get_client().is_active())"],
        cwd=ROOT, env=production_env(**env), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.django_db
def test_sentry_starts_only_when_a_dsn_is_set():
    assert _client_active() == "False"
    # Starting sends nothing: the address is never contacted unless an error happens.
    assert _client_active(SENTRY_DSN="https://public@sentry.example.test/1") == "True"


def test_before_send_keeps_only_the_method_and_the_address_without_its_query():
    from portal.sentry import strip_personal_data

    event = {
        "request": {
            "method": "POST",
            "url": f"https://consent.example.test/proposals/7/opt-out/?note={CANARY}",
            "data": {"private_reason": CANARY},
            "cookies": {"__Host-sessionid": CANARY},
            "headers": {"Cookie": CANARY, "Authorization": f"Bearer {CANARY}"},
            "query_string": f"note={CANARY}",
            "env": {"REMOTE_ADDR": "203.0.113.7"},
        },
        "user": {"id": 7, "email": "eve@example.test", "ip_address": "203.0.113.7"},
    }
    assert strip_personal_data(event, {}) == {
        "request": {"method": "POST", "url": "https://consent.example.test/proposals/7/opt-out/"}
    }
