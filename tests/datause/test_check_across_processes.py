"""The guarantee, across real processes: the portal under gunicorn (2 workers, each with its
own cache, warm), checked continuously by a load process; this process withdraws 200 times,
and after each withdrawal has committed another process asks at once. None may say allowed."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from api import coherence
from api.keys import create_key
from datause import services
from tests.conftest import WEB, make_person
from tests.datause.conftest import make_purpose

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
WITHDRAWALS = 200

# One process, two jobs: threads that load the check without pause, and a line protocol on
# stdin ("check" -> the answers of two checks, sent at once, one line of JSON).
CLIENT = r"""
import json, sys, threading, urllib.request
base, secret, query = sys.argv[1:4]
url = f"{base}/api/v1/consent/check?{query}"
headers = {"Authorization": f"Bearer {secret}"}
stop = threading.Event()
loaded = [0]

def get():
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
        return json.loads(r.read())["allowed"]

def load():
    while not stop.is_set():
        try:
            get(); loaded[0] += 1
        except Exception:
            pass

threads = [threading.Thread(target=load, daemon=True) for _ in range(2)]
for t in threads: t.start()
for line in sys.stdin:
    if line.strip() == "check":
        print(json.dumps([get(), get()]), flush=True)
    elif line.strip() == "until-allowed":
        for _ in range(200):
            if get(): break
        print(json.dumps([get()]), flush=True)
stop.set()
print(json.dumps({"loaded": loaded[0]}), flush=True)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url() -> str:
    db = settings.DATABASES["default"]
    return (
        f"postgres://{db['USER']}{':' + db['PASSWORD'] if db.get('PASSWORD') else ''}"
        f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_no_check_says_allowed_after_any_of_200_withdrawals(platform, tmp_path):
    run = uuid.uuid4().hex[:8]
    owner = make_person(f"owner-{run}@example.test", "Olga Owner", platform)
    purpose = make_purpose(owner, slug=f"keystrokes-{run}")
    eve = make_person(f"eve-{run}@example.test", "Eve", platform, external_id=f"E-{run}")
    _, secret = create_key(name=f"Telemetry {run}", scopes=["consent:check"])
    connection.close()  # the server's processes must not inherit this connection's state

    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_DEBUG": "1",
        "PORTAL_CHECK_LOG_DIR": str(tmp_path),
        "PORTAL_CHECK_LOG_FLUSH_SECONDS": "1",
        # The load below is far beyond one HRIS client's rate: the guarantee is about the cache.
        "PORTAL_API_RATE": "100000000/min",
    }
    server = subprocess.Popen(
        [GUNICORN, "portal.wsgi:application", "--workers", "2", "--bind",
         f"127.0.0.1:{port}", "--no-control-socket", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    client = None
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "no gunicorn"
                time.sleep(0.2)
        query = f"employee=E-{run}&purpose={purpose.slug}"
        client = subprocess.Popen(
            [sys.executable, "-c", CLIENT, base, secret, query],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip

        def ask(command: str) -> list[bool]:
            client.stdin.write(command + "\n")
            client.stdin.flush()
            return json.loads(client.stdout.readline())

        def decide(service):
            service(purpose=purpose, actor=eve.user, terms_sha256=purpose.terms_sha256,
                    context=WEB)  # fmt: skip

        # Both workers have a cache with a live lease before the first withdrawal.
        registry = redis.Redis.from_url(settings.REDIS_URL)
        while registry.zcount(coherence.WORKERS, f"({registry.time()[0] * 1000}", "+inf") < 2:
            assert time.monotonic() < deadline, "the workers never took a lease"
            ask("check")

        allowed_before, allowed_after = [], []
        for _ in range(WITHDRAWALS):
            decide(services.opt_in)
            allowed_before += ask("until-allowed")  # warm: the load keeps both caches filled
            decide(services.opt_out)  # committed when it returns
            allowed_after += ask("check")
        client.stdin.close()
        loaded = json.loads(client.stdout.readline())["loaded"]
    finally:
        if client is not None and client.poll() is None:
            client.kill()
        server.terminate()
        server.wait(timeout=30)

    assert allowed_before == [True] * WITHDRAWALS  # each withdrawal withdrew a live opt-in
    assert len(allowed_after) == 2 * WITHDRAWALS
    assert sum(allowed_after) == 0
    assert loaded > WITHDRAWALS  # the checks ran under load
