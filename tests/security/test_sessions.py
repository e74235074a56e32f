"""Idle sessions end; cookies are __Host- cookies whenever they are secure."""

import json
import subprocess
import time

import pytest

from portal.middleware import SESSION_LAST_SEEN
from tests.deploy.env import PYTHON, ROOT, production_env


@pytest.fixture
def eve_client(client, employee):
    client.force_login(employee.user)
    return client


def _last_seen(client, seconds_ago):
    session = client.session
    session[SESSION_LAST_SEEN] = int(time.time()) - seconds_ago
    session.save()


@pytest.mark.django_db
def test_a_session_idle_longer_than_the_limit_is_signed_out(eve_client, settings):
    settings.PORTAL_SESSION_IDLE_MINUTES = 30
    _last_seen(eve_client, 31 * 60)
    response = eve_client.get("/inbox/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    # Signed out for good, not just redirected once; told why on the sign-in page.
    assert "_auth_user_id" not in eve_client.session
    page = eve_client.get(response["Location"])
    assert "signed out after 30 minutes without activity" in page.content.decode()


@pytest.mark.django_db
def test_activity_keeps_the_session_alive(eve_client, settings):
    settings.PORTAL_SESSION_IDLE_MINUTES = 30
    _last_seen(eve_client, 29 * 60)
    assert eve_client.get("/inbox/").status_code == 200
    # The clock restarted: another 29 minutes later the person is still signed in.
    assert time.time() - eve_client.session[SESSION_LAST_SEEN] < 5
    _last_seen(eve_client, 29 * 60)
    assert eve_client.get("/inbox/").status_code == 200


@pytest.mark.django_db
def test_signing_in_starts_the_idle_clock(client, employee):
    client.force_login(employee.user)
    assert time.time() - client.session[SESSION_LAST_SEEN] < 5


@pytest.mark.django_db
def test_the_idle_clock_is_written_at_most_once_a_minute(eve_client):
    eve_client.get("/inbox/")
    before = eve_client.session[SESSION_LAST_SEEN]
    eve_client.get("/inbox/")
    assert eve_client.session[SESSION_LAST_SEEN] == before


SETTINGS_PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_SECURE, "
    "s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER,"
    " s.CSRF_TRUSTED_ORIGINS, s.EMAIL_USE_TLS, s.EMAIL_HOST_USER]))"
)


def _probe(**env):
    done = subprocess.run(
        [PYTHON, "-c", SETTINGS_PROBE], cwd=ROOT, env=production_env(**env),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.django_db
def test_production_cookies_are_host_prefixed_and_secure_behind_a_tls_proxy():
    names = _probe(
        DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://consent.example.test",
        EMAIL_USE_TLS="1",
        EMAIL_HOST_USER="portal-mailer",
    )
    assert names == [
        "__Host-sessionid", "__Host-csrftoken", True, True, True, 31536000,
        ["HTTP_X_FORWARDED_PROTO", "https"], ["https://consent.example.test"], True,
        "portal-mailer",
    ]  # fmt: skip


@pytest.mark.django_db
def test_plain_http_keeps_the_ordinary_cookie_names():
    # A __Host- cookie is refused by browsers without HTTPS: the loopback bench turns both off.
    names = _probe(DJANGO_SECURE_COOKIES="0")
    assert names[:6] == ["sessionid", "csrftoken", False, False, False, 0]
