"""One sign-in path for every page, the admin included: allauth's, with its two-factor step and
its rate limits, which count in the shared Redis cache rather than in each process."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
TOO_MANY = "Too many failed login attempts"


def unique_address(name):
    # Failed attempts are counted per address for five minutes in Redis, across test runs too.
    return f"{name}-{uuid.uuid4().hex[:10]}@example.test"


def unique_ip():
    n = uuid.uuid4().int
    return f"10.{n % 250 + 1}.{n // 250 % 250 + 1}.{n // 62500 % 250 + 1}"


@pytest.fixture
def totp_superuser(db):
    user = get_user_model().objects.create_superuser(
        username="root", email=unique_address("root"), password="right-password"
    )
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return user, secret


def admin_reachable(client) -> bool:
    return client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_a_totp_superuser_cannot_reach_the_admin_with_a_password_alone(totp_superuser):
    user, secret = totp_superuser
    client = Client(REMOTE_ADDR=unique_ip())

    # The admin's own form is gone: its POST signs nobody in and leads to allauth's sign-in.
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "root", "password": "right-password"}
    )
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")
    assert not admin_reachable(client)

    # allauth's sign-in takes the password, then asks for the code.
    response = client.post(
        "/accounts/login/?next=/admin/", {"login": user.email, "password": "right-password"}
    )
    assert response.url == reverse("mfa_authenticate")
    assert not admin_reachable(client)

    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 302
    assert admin_reachable(client)


@pytest.mark.django_db
def test_the_admin_login_page_sends_people_to_the_one_sign_in_page(client):
    response = client.get("/admin/login/?next=/admin/people/employee/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=%2Fadmin%2Fpeople%2Femployee%2F"


@pytest.mark.django_db
def test_a_staff_member_without_admin_rights_is_refused_not_redirected(client, employee):
    client.force_login(employee.user)
    assert client.get("/admin/login/").status_code == 403


ATTEMPT = f"""
import sys
import django
django.setup()
from django.test import Client
ip, address, password = sys.argv[1:]
client = Client(REMOTE_ADDR=ip, HTTP_HOST="localhost")
page = client.post("/accounts/login/", {{"login": address, "password": password}})
if "_auth_user_id" in client.session:
    print("signed-in")
else:
    print("throttled" if {TOO_MANY!r} in page.content.decode() else "refused")
"""


def attempt_in_another_process(address, password, ip) -> str:
    """One sign-in attempt by a separate Python process (its own Django, its own memory),
    sharing only PostgreSQL (this test database) and Redis with this one."""
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": (
            f"postgres://{quote(database['USER'])}:{quote(database['PASSWORD'] or '')}@"
            f"{database['HOST']}:{database['PORT']}/{database['NAME']}"
        ),
        "REDIS_URL": os.environ["REDIS_URL"],
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        [sys.executable, "-c", ATTEMPT, ip, address, password],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.django_db(transaction=True)
def test_wrong_passwords_are_throttled_across_sessions_and_processes(settings):
    assert django_settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    # A hash every process can check (the test settings' MD5 hasher is this process's only).
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    address = unique_address("target")
    get_user_model().objects.create_user(username=address, email=address, password="right-password")
    # Control: before any failure, the other process signs in with the right password.
    assert attempt_in_another_process(address, "right-password", unique_ip()) == "signed-in"

    # Every process sees the same Host header (allauth counts per site and address).
    attacker = Client(REMOTE_ADDR=unique_ip(), HTTP_HOST="localhost")
    for _ in range(5):  # ACCOUNT_RATE_LIMITS["login_failed"]: 5 per address in 5 minutes
        page = attacker.post("/accounts/login/", {"login": address, "password": "guess"})
        assert TOO_MANY not in page.content.decode()
    page = attacker.post("/accounts/login/", {"login": address, "password": "guess"})
    assert TOO_MANY in page.content.decode()

    # A second session, from another address, with the right password: still throttled.
    other_session = Client(REMOTE_ADDR=unique_ip(), HTTP_HOST="localhost")
    page = other_session.post("/accounts/login/", {"login": address, "password": "right-password"})
    assert TOO_MANY in page.content.decode()
    assert "_auth_user_id" not in other_session.session
    # And a separate web process sees the same count.
    assert attempt_in_another_process(address, "right-password", unique_ip()) == "throttled"
