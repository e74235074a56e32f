"""The environment of a production process, for tests that start one (check --deploy, gunicorn).

Debug off, a real secret key, allowed hosts, the keys production requires, the test database
and Redis: what docker-compose gives web, worker and beat.
"""

import base64
import os
import secrets
import socket
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def database_url(user: str | None = None, password: str | None = None) -> str:
    """The pytest database (test_<name>), as its owner or as another role."""
    db = connection.settings_dict
    user = user or db["USER"]
    password = password if user != db["USER"] else db.get("PASSWORD")
    auth = user + (f":{password}" if password else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def production_env(**overrides) -> dict:
    from consent import signing

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PORTAL_", "SENTRY_", "DATABASE_", "PROMETHEUS_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="consent.example.test,127.0.0.1",
        PORTAL_RECEIPT_SIGNING_KEYS=signing.generate_pem(),
        PORTAL_LEDGER_MASTER_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        DATABASE_URL=database_url(),
        REDIS_URL=settings.CELERY_BROKER_URL,
        PYTHONPATH=str(ROOT),
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
