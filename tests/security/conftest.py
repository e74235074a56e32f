"""A database of its own (a copy of the migrated pytest database), with the portal's
restricted role set up on it as docker-compose's `migrate` service does it (`grant_app_role`).

Not the pytest database: what the role writes there is committed, and the ledger it writes
cannot be deleted or truncated afterwards, by design. The whole database is dropped instead.
"""

import secrets
import subprocess

import psycopg
import pytest
from django.conf import settings
from django.db import connections
from psycopg import sql

from tests.deploy.env import PYTHON, ROOT


def _url(db: dict, name: str, user: str | None = None, password: str | None = None) -> str:
    user = user or db["USER"]
    password = password if password is not None else db.get("PASSWORD")
    auth = user + (f":{password}" if password else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


@pytest.fixture(scope="session")
def roles_database(django_db_setup, django_db_blocker):
    """{'owner_url', 'app_url', 'role', 'granted'}: a migrated copy of the pytest database and
    the application role `grant_app_role` made on it."""
    db = settings.DATABASES["default"]
    template = db["NAME"]  # the migrated pytest database
    name, role = f"{template}_roles", f"{template}_app"
    password = secrets.token_urlsafe(16)
    admin = psycopg.connect(_url(db, "postgres"), autocommit=True)

    def drop():
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))

    drop()
    with django_db_blocker.unblock():
        connections.close_all()  # a template database must have no open sessions
    try:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
        commands = []
    except psycopg.errors.ObjectInUse:  # another thread still holds a connection: migrate
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        commands = [["migrate", "--noinput", "-v0"]]
    commands.append(["grant_app_role", "--role", role, "--password-env", "APP_ROLE_PASSWORD"])
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_DEBUG": "1",
        "DATABASE_MIGRATE_URL": _url(db, name),
        "APP_ROLE_PASSWORD": password,
        "PYTHONPATH": str(ROOT),
    }
    for command in commands:
        done = subprocess.run(
            [PYTHON, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
    try:
        yield {
            "owner_url": _url(db, name),
            "app_url": _url(db, name, role, password),
            "role": role,
            "granted": done.stdout,
        }
    finally:
        drop()
        admin.close()
