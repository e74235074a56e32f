"""The integration rows of `make bench`: api-bulk, scim-sync and webhooks (issue 11).

    python -m bench.integration api-bulk --count 7000 --repeat 3
    python -m bench.integration scim-key
    python -m bench.integration webhooks --count 10000
    python -m bench.integration receiver --port 0 --secret whsec_... --ready FILE

- api-bulk: `POST /api/v1/proposals/bulk/` with `count` proposals, through Django's whole stack
  in this process (Bearer key, middleware, DRF, JSON), against COPY of exactly the rows it
  wrote (`workloads.copy_same_rows`), medians of `--repeat` runs.
- scim-sync: the portal under gunicorn (bench.http), an HRIS client on 127.0.0.1 provisioning
  10,000 users one POST /scim/v2/Users at a time (4 connections; 1,000 with --quick), then
  walking every page of GET /scim/v2/Users (100 a page). Server times come from gunicorn's
  access log, against the bare floor view loaded the same way.
- webhooks: 10,000 outbox events (1,000 with --quick) fanned out to one endpoint and delivered
  by a real Celery worker (4 processes) to a receiver on loopback in its own process, which
  verifies every signature with the `standardwebhooks` package and counts duplicates by
  webhook-id. The floor is the same number of signed POSTs sent straight to the receiver,
  with no database.

Each Django workload prints one JSON object on its last line, like bench.workloads.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from bench.databases import PYTHON, ROOT, django_env, log

TARGETS = {
    "api-bulk": {"seconds": 5.0, "ratio": 10.0, "rss_mb": 500.0},
    "scim-sync": {"ratio": 10.0},
}
ROWS = ["api-bulk", "scim-sync", "webhooks"]  # their place in the table, after the dashboard
SCIM_CONNECTIONS = 4
WEBHOOK_WORKERS = 4
SCIM = "application/scim+json"


# --- the runner's side ------------------------------------------------------------------


def run(database: str, *args: str, timeout: int = 600) -> dict:
    try:
        done = subprocess.run(
            [PYTHON, "-m", "bench.integration", *args], cwd=ROOT, env=django_env(database),
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"bench.integration {' '.join(args)} took over {timeout} s") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"bench.integration {' '.join(args)} failed: " + " | ".join(tail))
    return json.loads(done.stdout.strip().splitlines()[-1])


def rows(database: str, label: str, quick: bool, repeat: int, workdir: Path) -> list[dict]:
    """The three rows for one size; a workload that cannot run is an error row."""
    from bench.report import error_row

    out = []
    bulk = 7_000
    log(f"@{label}: api-bulk of {bulk:,}")
    try:
        out.append(api_bulk_row(label, bulk, run(database, "api-bulk", "--count", str(bulk),
                                                 "--repeat", str(repeat))))  # fmt: skip
    except RuntimeError as exc:
        out.append(error_row("api-bulk", f"{bulk:,} @{label}", exc))
    # --quick: a tenth of the people and events (rates, not totals, are what is compared).
    users = 1_000 if quick else 10_000
    log(f"@{label}: scim-sync of {users:,} users under gunicorn")
    try:
        out.extend(scim_rows(label, users, scim_sync(database, users, workdir / "scim")))
    except (RuntimeError, OSError) as exc:
        out.append(error_row("scim-sync", f"{users:,} users @{label}", exc))
    events = 1_000 if quick else 10_000
    log(f"@{label}: webhooks, {events:,} events through a Celery worker")
    try:
        out.append(webhooks_row(label, events, run(database, "webhooks", "--count", str(events))))
    except RuntimeError as exc:
        out.append(error_row("webhooks", f"{events:,} events @{label}", exc))
    return out


def api_bulk_row(label: str, count: int, result: dict) -> dict:
    from bench.report import row

    t = TARGETS["api-bulk"]
    ratio = result["value"] / result["floor"] if result["floor"] else None
    checks = {
        "seconds": result["value"] < t["seconds"],
        "ratio": ratio is not None and ratio <= t["ratio"],
        "rss": result["peak_rss_mb"] < t["rss_mb"],
        "all_201": result["statuses"] == ["201"],
    }
    return row(
        "api-bulk", f"{count:,} @{label}", result["value"], "s", result["floor"],
        f"<{t['seconds']:g} s, <={t['ratio']:g}x, <{t['rss_mb']:g} MB",
        all(checks.values()), result["peak_rss_mb"], status="ok",
        floor_is="COPY of the same rows", checks=checks,
        **{k: result[k] for k in ("runs", "floor_runs", "python_cpu_runs", "queries",
                                  "request_mb", "rows_written") if k in result},
    )  # fmt: skip


def scim_rows(label: str, count: int, result: dict) -> list[dict]:
    from bench.report import row

    limit = TARGETS["scim-sync"]["ratio"]
    floor = result["floor_p95_ms"]
    out = []
    for part, size in (("provision", f"{count:,} POST /Users @{label}"),
                       ("walk", f"GET /Users pages @{label}")):  # fmt: skip
        m = result[part]
        ratio = m["server_p95_ms"] / floor if floor else None
        checks = {
            "ratio": ratio is not None and ratio <= limit,
            "all_2xx": m["non_2xx"] == 0 and m["errors"] == 0,
            "complete": m["users"] >= (count if part == "provision" else m["total"]),
        }
        out.append(
            row(
                "scim-sync", size, m["server_p95_ms"], "ms p95", floor,
                f"users/s; p95 <={limit:g}x bare view", all(checks.values()), None,
                status="ok", floor_is="the bare floor view, same client", checks=checks,
                users_per_second=round(m["users"] / m["seconds"], 1), **m,
            )
        )  # fmt: skip
    return out


def webhooks_row(label: str, count: int, result: dict) -> dict:
    from bench.report import row

    checks = {
        "all_delivered": result["delivered"] == count and result["received_unique"] == count,
        "no_duplicates": result["duplicates"] == 0,
        "signatures_verified": result["bad_signatures"] == 0,
    }
    return row(
        "webhooks", f"{count:,} events @{label}", result["value"], "s", result["floor"],
        "deliveries/s; each exactly once, signatures verified", all(checks.values()),
        result["peak_rss_mb"], status="ok",
        floor_is="the same signed POSTs straight to the receiver (no database)",
        checks=checks, deliveries_per_second=round(count / result["value"], 1),
        **{k: result[k] for k in ("fan_out_seconds", "received_unique", "duplicates",
                                  "bad_signatures", "delivered", "attempts", "workers")},
    )  # fmt: skip


def _timed_requests(session, method, url, bodies, headers, results, lock):
    for body in bodies:
        try:
            response = session.request(method, url, data=body, headers=headers, timeout=30)
            code = response.status_code
        except OSError as exc:
            code = f"error: {exc.__class__.__name__}"
        with lock:
            results.append(code)


def _pool_requests(method, url, bodies, headers, connections) -> tuple[float, list]:
    import requests

    chunks = [bodies[i::connections] for i in range(connections)]
    results, lock = [], threading.Lock()
    sessions = [requests.Session() for _ in chunks]
    started = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        for session, chunk in zip(sessions, chunks, strict=True):
            pool.submit(_timed_requests, session, method, url, chunk, headers, results, lock)
    return time.perf_counter() - started, results


def scim_sync(database: str, count: int, workdir: Path) -> dict:
    """Provision `count` users over SCIM one POST at a time, then walk GET /Users."""
    import requests

    from bench.http import PORT, Gunicorn, percentile

    secret = run(database, "scim-key")["secret"]
    base = f"http://127.0.0.1:{PORT}"
    auth = {"Authorization": f"Bearer {secret}", "Content-Type": SCIM, "Accept": SCIM}
    tag = uuid.uuid4().hex[:8]
    users = [
        json.dumps({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": f"sync-{tag}-{n}@hris.example.com", "externalId": f"S-{tag}-{n}",
            "name": {"givenName": "Sync", "familyName": f"Person {n}"},
            "displayName": f"Sync Person {n}", "title": "Engineer", "active": True,
            "emails": [{"value": f"sync-{tag}-{n}@hris.example.com", "type": "work"}],
        })
        for n in range(count)
    ]  # fmt: skip
    workdir.mkdir(parents=True, exist_ok=True)
    with Gunicorn(database, workdir) as server:
        _pool_requests("GET", f"{base}/bench/floor", [None] * 200, {}, SCIM_CONNECTIONS)  # warm
        _pool_requests("POST", f"{base}/scim/v2/Users", users[:20], auth, SCIM_CONNECTIONS)
        offset = server.log_offset()
        _pool_requests("GET", f"{base}/bench/floor", [None] * 2000, {}, SCIM_CONNECTIONS)
        time.sleep(0.3)
        floor_times, _ = server.server_times_ms(offset)

        offset = server.log_offset()
        seconds, codes = _pool_requests(
            "POST", f"{base}/scim/v2/Users", users[20:], auth, SCIM_CONNECTIONS
        )
        time.sleep(0.3)
        post_times, post_bad = server.server_times_ms(offset)
        provision = {
            "users": sum(1 for c in codes if c == 201) + 20,
            "seconds": round(seconds, 3),
            "requests": len(codes),
            "errors": sum(1 for c in codes if not isinstance(c, int)),
            "non_2xx": post_bad,
            "server_p50_ms": percentile(post_times, 50),
            "server_p95_ms": percentile(post_times, 95),
            "server_p99_ms": percentile(post_times, 99),
        }
        # The page walk an HRIS does to reconcile: every page of 100, in order, one client.
        offset = server.log_offset()
        session, start, seen, total, errors = requests.Session(), 1, 0, None, 0
        started = time.perf_counter()
        while total is None or start <= total:
            response = session.get(
                f"{base}/scim/v2/Users", params={"startIndex": start, "count": 100},
                headers=auth, timeout=60,
            )  # fmt: skip
            if response.status_code != 200:
                errors += 1
                break
            page = response.json()
            total = page["totalResults"]
            seen += len(page["Resources"])
            if not page["Resources"]:
                break
            start += len(page["Resources"])
        walk_seconds = time.perf_counter() - started
        time.sleep(0.3)
        walk_times, walk_bad = server.server_times_ms(offset)
        walk = {
            "users": seen,
            "total": total or 0,
            "seconds": round(walk_seconds, 3),
            "requests": len(walk_times),
            "errors": errors,
            "non_2xx": walk_bad,
            "server_p50_ms": percentile(walk_times, 50),
            "server_p95_ms": percentile(walk_times, 95),
            "server_p99_ms": percentile(walk_times, 99),
        }
    return {"floor_p95_ms": percentile(floor_times, 95), "provision": provision, "walk": walk}


# --- inside Django ------------------------------------------------------------------------


def scim_key() -> dict:
    from api.keys import create_key

    _, secret = create_key(name=f"Bench HRIS {uuid.uuid4().hex[:6]}", scopes=["scim"])
    return {"secret": secret}


def api_bulk(count: int, repeat: int) -> dict:
    """`count` proposals in one `POST /api/v1/proposals/bulk/`, vs COPY of the rows it wrote."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from api.keys import create_key
    from assignments.deadlines import minimum_deadline
    from bench import workloads as w
    from people.models import Employee

    _, secret = create_key(name=f"Bench bulk {uuid.uuid4().hex[:6]}", scopes=["proposals:write"])
    client = Client(headers={"authorization": f"Bearer {secret}"})
    ids = w.spread_employee_ids(count)
    external = dict(Employee.objects.filter(pk__in=ids).values_list("pk", "external_id"))
    people = [external[pk] for pk in ids]
    raw = w.raw_connection()
    tables = w.id_tables(raw)
    raw.commit()
    timings, cpu_timings, statuses, queries, size = [], [], set(), None, 0
    plan = [("warm-up", people[: w.WARM_UP])] + [("timed", people)] * repeat
    for n, (kind, who) in enumerate(plan):
        team = w.new_team("bulk")
        deadline = minimum_deadline(timezone.now()) + timedelta(hours=1)
        start = (timezone.localdate(deadline) + timedelta(days=14)).isoformat()
        body = json.dumps({"proposals": [
            {"employee": e, "to_team": team.slug, "role_description": w.ROLE,
             "data_labelling_percent": 30, "start_date": start,
             "response_deadline": deadline.isoformat()}
            for e in who
        ]})  # fmt: skip
        before = w.max_ids(raw, tables)
        raw.commit()
        counting = n == len(plan) - 1  # the query count of one timed run (its own cost aside)
        started, cpu = time.perf_counter(), time.process_time()
        if counting:
            with CaptureQueriesContext(connection) as captured:
                response = client.post("/api/v1/proposals/bulk/", body, "application/json")
            queries = len(captured)
        else:
            response = client.post("/api/v1/proposals/bulk/", body, "application/json")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        statuses.add(str(response.status_code))
        if response.status_code != 201:
            raise SystemExit(f"bulk answered {response.status_code}: {response.content[:300]!r}")
        if kind == "timed":
            timings.append(elapsed)
            cpu_timings.append(cpu)
            size = len(body)
    after = w.max_ids(raw, tables)
    raw.commit()
    written = {t: after[t] - before[t] for t in tables if after[t] > before[t]}
    floors = [w.copy_same_rows(raw, written, before) for _ in range(repeat)]
    raw.close()
    return {
        "value": statistics.median(timings),
        "floor": statistics.median(floors),
        "runs": timings,
        "floor_runs": floors,
        "python_cpu_runs": cpu_timings,
        "statuses": sorted(statuses),
        "queries": queries,
        "request_mb": round(size / 1e6, 2),
        "rows_written": written,
        "peak_rss_mb": w.peak_rss_mb(),
    }


class _Receiver:
    """Counts what arrives; every message is verified with the reference implementation."""

    def __init__(self, secret: str):
        from standardwebhooks.webhooks import Webhook

        self.webhook = Webhook(secret)
        self.seen: set[str] = set()
        self.duplicates = self.bad = 0
        self.lock = threading.Lock()

    def take(self, headers: dict, body: bytes) -> None:
        try:
            self.webhook.verify(body, headers)
        except Exception:
            with self.lock:
                self.bad += 1
            return
        message = headers.get("webhook-id", "")
        with self.lock:
            if message in self.seen:
                self.duplicates += 1
            self.seen.add(message)

    def stats(self) -> dict:
        with self.lock:
            return {"unique": len(self.seen), "duplicates": self.duplicates, "bad": self.bad}


def receiver(port: int, secret: str, ready: str) -> None:
    """A real HTTP server on loopback in its own process: 204 for each signed message."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    counts = _Receiver(secret)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            counts.take({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            data = json.dumps(counts.stats()).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    Path(ready).write_text(str(server.server_port))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()


def _start_receiver(secret: str, workdir: Path) -> tuple[subprocess.Popen, str]:
    ready = workdir / "receiver.port"
    proc = subprocess.Popen(
        [PYTHON, "-m", "bench.integration", "receiver", "--secret", secret, "--ready", str(ready)],
        cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while not (ready.exists() and ready.read_text()):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("the webhook receiver did not start")
        time.sleep(0.1)
    return proc, f"http://127.0.0.1:{ready.read_text()}"


def _stats(url: str) -> dict:
    import requests

    return requests.get(url + "/stats", timeout=10).json()


def _stop(proc: subprocess.Popen, *, group: bool = False) -> None:
    """Stop a process we started (its whole process group when it has its own: a Celery
    worker and its pool)."""
    if proc.poll() is not None:
        return
    if group:
        os.killpg(proc.pid, signal.SIGTERM)
    else:
        proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait()


def _wait_for_worker(deadline_seconds: float = 60) -> None:
    from portal.celery import app

    deadline = time.monotonic() + deadline_seconds
    while not app.control.ping(timeout=0.5):
        if time.monotonic() > deadline:
            raise SystemExit("the Celery worker did not answer a ping within a minute")


def webhooks(count: int) -> dict:
    """`count` outbox events to one endpoint, delivered by a real Celery worker."""
    import redis
    from django.db import transaction
    from django.db.models import Count, Max

    from bench.workloads import peak_rss_mb
    from outbox.services import dispatch_pending, record_events
    from webhooks import services, signing
    from webhooks.models import WebhookDelivery, WebhookEndpoint

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()  # the bench's own database only
    WebhookEndpoint.objects.filter(is_active=True).update(is_active=False)  # ours alone
    while dispatch_pending():  # events left by earlier rows go nowhere now (untimed)
        pass
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp:
        workdir = Path(tmp)
        secret = signing.new_secret()
        receiver_proc, url = _start_receiver(secret, workdir)
        worker = None
        try:
            endpoint, _ = services.create_endpoint(
                url=url + "/hooks", events=["proposal.created"], description="bench receiver"
            )
            # The receiver was started first (its port is in the URL), with the secret to check.
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret=secret)
            tag = uuid.uuid4().hex[:8]
            with transaction.atomic():
                record_events(
                    [("proposal.created", f"bench.webhooks:{tag}:{n}", {"proposal_id": n})
                     for n in range(count)],
                    keys_are_new=True,
                )  # fmt: skip
            worker = subprocess.Popen(
                [PYTHON, "-m", "celery", "-A", "portal", "worker", "--pool", "prefork",
                 "--concurrency", str(WEBHOOK_WORKERS), "--loglevel", "warning",
                 "--without-gossip", "--without-mingle", "-n", f"bench-{tag}@%h"],
                cwd=ROOT, env=dict(os.environ), stdout=(workdir / "worker.log").open("w"),
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
            _wait_for_worker()  # its pool is up before the clock starts
            started = time.perf_counter()
            dispatched = dispatch_pending(limit=count)  # fan-out; sends queued on commit
            fan_out = time.perf_counter() - started
            if dispatched != count:
                raise SystemExit(f"dispatched {dispatched} events, not {count}")
            deadline = time.monotonic() + 240
            while _stats(url)["unique"] < count and time.monotonic() < deadline:
                time.sleep(0.1)
            value = time.perf_counter() - started
            time.sleep(1)  # anything still arriving late would be a duplicate
            stats = _stats(url)
            mine = WebhookDelivery.objects.filter(endpoint=endpoint)
            delivered = mine.filter(state=WebhookDelivery.State.DELIVERED).count()
            attempts = mine.aggregate(total=Count("log"), most=Max("attempts"))
            # The floor: the same messages, signed, posted straight to the receiver.
            bodies = [
                json.dumps(d.payload, separators=(",", ":"), sort_keys=True)
                for d in mine.order_by("pk")
            ]
            ids = list(mine.order_by("pk").values_list("message_id", flat=True))
        finally:
            if worker is not None:
                _stop(worker, group=True)
        floor = _floor_posts(url + "/hooks", secret, ids, bodies)
        floor_stats = _stats(url)
        _stop(receiver_proc)
    return {
        "value": value,
        "floor": floor,
        "fan_out_seconds": round(fan_out, 3),
        "received_unique": stats["unique"],
        "duplicates": stats["duplicates"],
        "bad_signatures": stats["bad"] + floor_stats["bad"],
        "delivered": delivered,
        "attempts": attempts,
        "workers": WEBHOOK_WORKERS,
        "peak_rss_mb": peak_rss_mb(),
    }


def _floor_posts(url: str, secret: str, ids: list[str], bodies: list[str]) -> float:
    import requests

    from webhooks import signing

    now = int(time.time())
    # Fresh ids: the receiver must count these apart from the deliveries.
    signed = [
        (body, signing.headers([secret], f"floor_{message}", now, body))
        for message, body in zip(ids, bodies, strict=True)
    ]

    def send(chunk):
        session = requests.Session()
        for body, headers in chunk:
            session.post(url, data=body.encode(), headers=headers, timeout=30)

    started = time.perf_counter()
    with ThreadPoolExecutor(WEBHOOK_WORKERS) as pool:
        list(pool.map(send, [signed[i::WEBHOOK_WORKERS] for i in range(WEBHOOK_WORKERS)]))
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.integration")
    parser.add_argument("workload", choices=["api-bulk", "scim-key", "webhooks", "receiver"])
    parser.add_argument("--count", type=int, default=7000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--secret", default="")
    parser.add_argument("--ready", default="")
    args = parser.parse_args(argv)
    if args.workload == "receiver":
        receiver(args.port, args.secret, args.ready)
        return 0
    from bench.workloads import setup_django

    setup_django()
    if args.workload == "api-bulk":
        result = api_bulk(args.count, args.repeat)
    elif args.workload == "scim-key":
        result = scim_key()
    else:
        result = webhooks(args.count)
    sys.stdout.write("\n" + json.dumps(result, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
