"""A real OpenID Connect provider for the SSO tests, and the portal configured to use it.

The provider is panva's `oidc-provider` from npm, installed into tests/sso/provider/ with
`npm ci --prefix tests/sso/provider` (package.json and package-lock.json are committed,
node_modules is not), run with Node as a subprocess on a free loopback port. Nothing about it
is mocked: the portal discovers it, sends the browser there, exchanges the code (PKCE), checks
the signed ID token against its JWKS and reads userinfo, all over HTTP.
"""

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from tests.web.conftest import browser_type_launch_args, screenshot_dir  # noqa: F401

PROVIDER_DIR = Path(__file__).resolve().parent / "provider"
CLIENT_ID = "consent-portal"
CLIENT_SECRET = "test-only-client-secret"
PROVIDER_NAME = "Example Corp SSO"

# The people the company's provider knows. Eve and Oscar are in the portal (the tests' cast);
# Alex is the first admin (tests create him); Nina is not in the portal: the HRIS never
# provisioned her.
IDP_ACCOUNTS = {
    "eve": {
        "email": "Eve@Example.test",  # the provider's spelling; the match ignores case
        "email_verified": True,
        "name": "Eve Employee",
        "employee_number": "E-1001",
    },
    "oscar": {
        "email": "oscar@example.test",
        "email_verified": True,
        "name": "Oscar Outsider",
        "employee_number": "E-2002",
    },
    # A second provider identity with Eve's address (say, an account recreated at the provider).
    "eve-again": {"email": "eve@example.test", "email_verified": True, "name": "Eve Employee"},
    "alex": {"email": "alex.admin@example.test", "email_verified": True, "name": "Alex Admin"},
    "nina": {
        "email": "nina@example.test",
        "email_verified": True,
        "name": "Nina Newcomer",
        "employee_number": "E-3003",
    },
}


def _missing_provider_message() -> str | None:
    if shutil.which("node") is None:
        return "node is missing: the SSO tests run a real OpenID Connect provider on Node 20+"
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        return "the test OIDC provider is not installed: run `npm ci --prefix tests/sso/provider`"
    return None


@pytest.fixture(scope="session")
def oidc_provider(live_server):
    """The running provider: its issuer URL, with the portal registered as a client whose
    redirect URI is the live server's callback."""
    problem = _missing_provider_message()
    if problem:  # `make test` installs it (npm ci in tests/sso/provider): never skipped
        pytest.fail(problem)
    clients = [
        {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [f"{live_server.url}/accounts/oidc/company/login/callback/"],
            "token_endpoint_auth_method": "client_secret_post",
        }
    ]
    process = subprocess.Popen(
        ["node", "server.mjs"],
        cwd=PROVIDER_DIR,
        env={
            **os.environ,
            "OIDC_CLIENTS": json.dumps(clients),
            "OIDC_ACCOUNTS": json.dumps(IDP_ACCOUNTS),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    issuer = []

    def read_issuer():
        for line in iter(process.stdout.readline, ""):
            if line.startswith("READY "):
                issuer.append(line.split()[1])
                return

    reader = threading.Thread(target=read_issuer, daemon=True)
    reader.start()
    reader.join(timeout=30)
    if not issuer:
        process.kill()
        pytest.fail("the test OIDC provider did not start (node tests/sso/provider/server.mjs)")
    yield issuer[0]
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def sso(settings, oidc_provider):
    """The portal configured as an operator would, from PORTAL_OIDC_* (portal/settings.py)."""
    settings.PORTAL_OIDC_ISSUER = oidc_provider
    settings.PORTAL_OIDC_NAME = PROVIDER_NAME
    settings.PORTAL_OIDC_MATCH_BY = "email"
    settings.PORTAL_OIDC_MATCH_CLAIM = "email"
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "SCOPE": ["openid", "profile", "email"],
            "APPS": [
                {
                    "provider_id": "company",
                    "name": PROVIDER_NAME,
                    "client_id": CLIENT_ID,
                    "secret": CLIENT_SECRET,
                    "settings": {"server_url": oidc_provider, "oauth_pkce_enabled": True},
                }
            ],
        }
    }
    return settings
