"""Single sign-on is configured from the environment (portal/settings.py); a configuration that
cannot work stops the portal at start with a message saying what to set."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOW = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps([settings.SOCIALACCOUNT_PROVIDERS, settings.PORTAL_PASSWORD_LOGIN, "
    "settings.PORTAL_OIDC_MATCH_BY, settings.PORTAL_OIDC_MATCH_CLAIM]))"
)


def load_settings(**env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_OIDC_")}
    clean.pop("PORTAL_PASSWORD_LOGIN", None)
    result = subprocess.run(
        [sys.executable, "-c", SHOW],
        env={**clean, "DJANGO_SETTINGS_MODULE": "portal.settings", "DJANGO_DEBUG": "1", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result


def test_the_provider_is_built_from_the_environment_with_the_secret_from_a_file(tmp_path):
    secret = tmp_path / "oidc-secret"
    secret.write_text("from-a-file\n")
    result = load_settings(
        PORTAL_OIDC_ISSUER="https://example.okta.com/",
        PORTAL_OIDC_CLIENT_ID="0oa-portal",
        PORTAL_OIDC_CLIENT_SECRET_FILE=str(secret),
        PORTAL_OIDC_NAME="Okta",
        PORTAL_OIDC_MATCH_BY="external_id",
        PORTAL_OIDC_MATCH_CLAIM="employeeNumber",
        PORTAL_PASSWORD_LOGIN="0",
    )
    assert result.returncode == 0, result.stderr
    providers, password_login, match_by, claim = json.loads(result.stdout.splitlines()[-1])
    [app] = providers["openid_connect"]["APPS"]
    assert app["provider_id"] == "company" and app["name"] == "Okta"
    assert app["client_id"] == "0oa-portal" and app["secret"] == "from-a-file"
    assert app["settings"]["server_url"] == "https://example.okta.com"
    assert (password_login, match_by, claim) == (False, "external_id", "employeeNumber")


def test_without_sso_nothing_is_offered_and_passwords_stay_on():
    result = load_settings()
    assert result.returncode == 0, result.stderr
    providers, password_login, match_by, claim = json.loads(result.stdout.splitlines()[-1])
    assert providers["openid_connect"]["APPS"] == []
    assert (password_login, match_by, claim) == (True, "email", "email")


def test_an_issuer_without_client_credentials_stops_the_portal():
    result = load_settings(PORTAL_OIDC_ISSUER="https://accounts.google.com")
    assert result.returncode != 0
    assert "PORTAL_OIDC_CLIENT_ID and PORTAL_OIDC_CLIENT_SECRET" in result.stderr


def test_passwords_off_without_sso_stops_the_portal():
    result = load_settings(PORTAL_PASSWORD_LOGIN="0")
    assert result.returncode != 0
    assert "PORTAL_PASSWORD_LOGIN=0 needs single sign-on" in result.stderr


def test_an_unknown_matching_rule_stops_the_portal():
    result = load_settings(PORTAL_OIDC_MATCH_BY="name")
    assert result.returncode != 0
    assert "PORTAL_OIDC_MATCH_BY must be email or external_id" in result.stderr
