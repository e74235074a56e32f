"""The bench's databases and Redis, and the Django processes that work on them."""

import functools
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def admin(sql: str) -> None:
    with psycopg.connect(with_database(DATABASE_URL, "postgres"), autocommit=True) as conn:
        conn.execute(sql)


def exists(name: str) -> bool:
    with psycopg.connect(with_database(DATABASE_URL, "postgres"), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()


@functools.cache
def _ledger_master_key() -> str:
    """A bench-only master key for sealed private reasons, one per bench run (consent.crypto)."""
    import base64
    import os

    return base64.b64encode(os.urandom(32)).decode("ascii")


@functools.cache
def _receipt_signing_key() -> str:
    """A bench-only Ed25519 receipt signing key, one per bench run (consent.signing)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode("ascii")
    )


def django_env(database: str) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=with_database(DATABASE_URL, database),
        REDIS_URL=REDIS_URL,
        DJANGO_SETTINGS_MODULE="bench.settings",
        DJANGO_DEBUG="0",  # production-like: no query log growing in memory, no debug pages
        DJANGO_SECRET_KEY="bench-only-secret-not-for-production",
        PORTAL_RECEIPT_SIGNING_KEYS=_receipt_signing_key(),  # required with debug off
        PORTAL_LEDGER_MASTER_KEY=_ledger_master_key(),  # required with debug off
        DJANGO_SECURE_COOKIES="0",
        PYTHONPATH=str(ROOT),
    )
    return env


def manage(database: str, *args: str) -> subprocess.CompletedProcess:
    """manage.py under bench.settings, the only settings that install `seed_scale`."""
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=django_env(database), capture_output=True,
        text=True,
    )  # fmt: skip


def checked(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(done.args[1:])} failed: {done.stderr.strip()[-500:]}")
    return done


def prepare_database(employees: int, reseed: bool) -> tuple[str, float | None]:
    """Make sure the seeded template exists and is migrated; copy it to the work database."""
    base = database_name(DATABASE_URL)
    template = f"{base}_seed_{employees}"
    log(f"preparing {template} ({employees:,} employees; seeded once, then reused)")
    if reseed or not exists(template):
        admin(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        admin(f'CREATE DATABASE "{template}"')
    checked(manage(template, "migrate", "--noinput", "-v0"))  # also any migration since seeding
    started = time.monotonic()
    done = manage(template, "seed_scale", "--employees", str(employees), "--if-missing")
    if done.returncode == 3:  # other or stale data: start again from an empty database
        log(f"{template} holds other or stale data; seeding it again")
        admin(f'DROP DATABASE "{template}" WITH (FORCE)')
        admin(f'CREATE DATABASE "{template}"')
        checked(manage(template, "migrate", "--noinput", "-v0"))
        started = time.monotonic()
        done = manage(template, "seed_scale", "--employees", str(employees))
    checked(done)
    seed_seconds = None if "already seeded" in done.stdout else time.monotonic() - started
    if seed_seconds is not None:
        log(done.stdout.strip())
    admin(f'DROP DATABASE IF EXISTS "{base}" WITH (FORCE)')
    try:  # FILE_COPY (PostgreSQL 15+) copies a large template much faster than WAL_LOG
        admin(f'CREATE DATABASE "{base}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    except psycopg.errors.SyntaxError:
        admin(f'CREATE DATABASE "{base}" TEMPLATE "{template}"')
    return base, seed_seconds


def seed_marker(employees: int) -> tuple[float, float | None, datetime]:
    """(seconds, peak MB, when) of the seeding that built this size's template."""
    template = f"{database_name(DATABASE_URL)}_seed_{employees}"
    with psycopg.connect(with_database(DATABASE_URL, template)) as conn:
        return conn.execute(
            "SELECT seconds, peak_rss_mb, seeded_at FROM seed_scale_marker "
            "ORDER BY seeded_at DESC LIMIT 1"
        ).fetchone()


def services_problem() -> str | None:
    """One line saying which service is unreachable, or None."""
    import redis

    admin_url = with_database(DATABASE_URL, "postgres")
    try:
        psycopg.connect(admin_url, connect_timeout=3).close()
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
        return f"PostgreSQL is not reachable at {admin_url} ({first}); start it and retry."
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis is not reachable at {REDIS_URL} ({exc}); start it and retry."
    return None


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()  # our own database number only


def workload(database: str, *args: str) -> dict:
    try:
        done = subprocess.run(
            [PYTHON, "-m", "bench.workloads", *args],
            cwd=ROOT,
            env=django_env(database),
            capture_output=True,
            text=True,
            timeout=300,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"bench.workloads {' '.join(args)} took over 300 s") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"bench.workloads {' '.join(args)} failed: " + " | ".join(tail))
    return json.loads(done.stdout.strip().splitlines()[-1])
