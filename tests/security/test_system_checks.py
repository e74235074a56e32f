"""`check --deploy` is clean in production, and the portal's own checks catch what Django's
cannot see; production refuses to start with debug on or a placeholder secret key."""

import subprocess

import pytest

from portal import checks
from tests.deploy.env import PYTHON, ROOT, production_env


def _ids(messages):
    return sorted(m.id for m in messages)


def test_the_portals_settings_pass_its_own_checks():
    assert checks.content_security_policy(None) == []
    assert checks.api_permission(None) == []
    assert checks.celery_late_acknowledgement(None) == []


def test_a_missing_or_weak_content_security_policy_fails(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "csp.middleware.CSPMiddleware"]
    assert _ids(checks.content_security_policy(None)) == ["portal.E001"]
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "csp.middleware.CSPMiddleware"]
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {"default-src": ["'self'"], "script-src": ["'self'", "'unsafe-inline'"]}
    }
    assert _ids(checks.content_security_policy(None)) == ["portal.E003", "portal.E004"]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"frame-ancestors": ["'none'"]}}
    assert _ids(checks.content_security_policy(None)) == ["portal.E002"]


def test_an_open_api_by_default_fails(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    }
    assert _ids(checks.api_permission(None)) == ["portal.E010"]
    settings.REST_FRAMEWORK = {"DEFAULT_PERMISSION_CLASSES": []}
    assert _ids(checks.api_permission(None)) == ["portal.E010"]


def test_early_acknowledgement_fails(settings):
    settings.CELERY_TASK_ACKS_LATE = False
    assert _ids(checks.celery_late_acknowledgement(None)) == ["portal.E020"]


@pytest.mark.django_db
def test_connecting_as_the_ledgers_owner_fails_the_deploy_check(settings):
    settings.DEBUG = False
    settings.DATABASE_AS_OWNER = False
    # The test suite connects as a superuser, the owner of everything.
    [error] = checks.ledger_role_is_not_its_owner(None)
    assert error.id == "portal.E030" and "superuser" in error.msg


def _check_deploy(**env):
    return subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=production_env(**env), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_check_deploy_reports_nothing_in_production(roles_database):
    done = _check_deploy(DATABASE_URL=roles_database["app_url"])
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout


def test_check_deploy_fails_as_the_owner_and_over_plain_http(roles_database):
    done = _check_deploy(DATABASE_URL=roles_database["owner_url"], DJANGO_SECURE_COOKIES="0")
    assert done.returncode != 0
    for expected in ("portal.E030", "security.W008", "security.W012", "security.W016"):
        assert expected in done.stderr, expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off"),
        ({"DJANGO_SECRET_KEY": "change-me"}, "DJANGO_SECRET_KEY is a well-known placeholder"),
        (
            {"DJANGO_SECRET_KEY": "insecure-development-key-only-used-with-DJANGO_DEBUG-1"},
            "DJANGO_SECRET_KEY is a well-known placeholder",
        ),
        ({"DJANGO_DEBUG": "1", "PORTAL_PRODUCTION": "1"}, "DJANGO_DEBUG=1 is refused"),
        ({"DJANGO_CSRF_TRUSTED_ORIGINS": "consent.example.test"}, "origins with their scheme"),
    ],
)
def test_production_refuses_to_start_misconfigured(env, message):
    done = subprocess.run(
        [PYTHON, "-c", "import django; django.setup()"],
        cwd=ROOT, env=production_env(**env), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and message in done.stderr
