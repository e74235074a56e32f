"""`python -m bench [--quick]`: seed (once), run every workload, print the table, write JSON.

For each size (10,000 employees, then 100,000 unless --quick):

1. A template database `<bench>_seed_<n>` is seeded by `seed_scale` once and marked; later
   runs only migrate it. Each run then works on a fresh copy, `<bench>`, so runs never see
   each other's leftovers (the ledger refuses DELETE, so nothing could be cleaned up anyway).
2. campaign and sweep run in their own processes (bench.workloads), each timing the
   service and its floor in the same process, on the same database, a few times.
3. The pages are served by gunicorn (2 sync workers) and loaded by wrk from a second
   process on 127.0.0.1, bounded in time and requests: first the bare floor view, then
   the inbox and proposal pages of a few hundred logged-in employees. Server time is
   gunicorn's own per-request time (%(D)s in its access log), so it excludes queueing.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
PROFILES = ROOT / "var" / "bench-profiles"
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
PORT = int(os.environ.get("BENCH_PORT", "18765"))

# (label, employees, proposals for campaign and sweep)
FULL = [("10k", 10_000, 700), ("100k", 100_000, 7_000)]
QUICK = FULL[:1]
CONNECTIONS = 32
ORDER = ["seed", "campaign", "sweep", "inbox", "proposal-page", "http-floor"]
SEED_SECONDS, SEED_RSS_MB = 180.0, 1024.0  # at 100,000 employees; time scales with size
TARGETS = {
    "campaign": {"seconds": 5.0, "ratio": 10.0, "rss_mb": 500.0},
    "sweep": {"seconds": 2.0, "ratio": 10.0, "rss_mb": 500.0},
    "pages": {"p95_ms": 100.0, "rss_mb": 250.0, "rss_growth_mb": 25.0},
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- databases -----------------------------------------------------------------------------


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


def django_env(database: str) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=with_database(DATABASE_URL, database),
        REDIS_URL=REDIS_URL,
        DJANGO_SETTINGS_MODULE="bench.settings",
        DJANGO_DEBUG="0",  # production-like: no query log growing in memory, no debug pages
        DJANGO_SECRET_KEY="bench-only-secret-not-for-production",
        DJANGO_SECURE_COOKIES="0",
        PYTHONPATH=str(ROOT),
    )
    return env


def manage(database: str, *args: str) -> subprocess.CompletedProcess:
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
    admin(f'CREATE DATABASE "{base}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    return base, seed_seconds


def seed_row(label: str, employees: int, seeded_now: bool) -> dict:
    """The seeding of this size's template, as recorded in its marker when it was built."""
    template = f"{database_name(DATABASE_URL)}_seed_{employees}"
    with psycopg.connect(with_database(DATABASE_URL, template)) as conn:
        seconds, rss, seeded_at = conn.execute(
            "SELECT seconds, peak_rss_mb, seeded_at FROM seed_scale_marker "
            "ORDER BY seeded_at DESC LIMIT 1"
        ).fetchone()
    limit = SEED_SECONDS * employees / FULL[-1][1]
    return row(
        "seed",
        f"{label} employees",
        seconds,
        "s",
        None,
        f"<{limit:g} s, <{SEED_RSS_MB:g} MB (COPY)",
        seconds < limit and rss is not None and rss < SEED_RSS_MB,
        rss,
        status="ok",
        seeded_at=seeded_at.isoformat(),
        seeded_this_run=seeded_now,
    )


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


# --- processes -----------------------------------------------------------------------------


def workload(database: str, *args: str) -> dict:
    done = subprocess.run(
        [PYTHON, "-m", "bench.workloads", *args],
        cwd=ROOT,
        env=django_env(database),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"bench.workloads {' '.join(args)} failed: " + " | ".join(tail))
    return json.loads(done.stdout.strip().splitlines()[-1])


def proc_peak_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except FileNotFoundError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


class Gunicorn:
    """The portal under gunicorn, 2 sync workers, access log with per-request server time."""

    def __init__(self, database: str, workdir: Path):
        self.database = database
        self.access_log = workdir / "access.log"
        self.error_log = workdir / "gunicorn.log"
        self.proc = None

    def __enter__(self):
        self.access_log.touch()
        self.proc = subprocess.Popen(
            [
                GUNICORN, "portal.wsgi:application", "--workers", "2",
                "--bind", f"127.0.0.1:{PORT}", "--no-control-socket",
                "--access-logfile", str(self.access_log),
                "--access-logformat", "%(U)s %(s)s %(D)s",
                "--error-logfile", str(self.error_log), "--log-level", "warning",
                "--backlog", "256",
            ],
            cwd=ROOT,
            env=django_env(self.database),
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/bench/floor", timeout=2):
                    return self
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.3)
        self.__exit__()
        raise RuntimeError(f"gunicorn did not start; see {self.error_log}")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def worker_cpu_seconds(self) -> float:
        """User + system CPU time of all workers so far (from /proc, in clock ticks)."""
        total = 0
        for pid in children(self.proc.pid):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
            except (FileNotFoundError, IndexError):
                pass
        return total / os.sysconf("SC_CLK_TCK")

    def worker_peak_mb(self) -> float:
        return max((proc_peak_mb(pid) for pid in children(self.proc.pid)), default=0.0)

    def log_offset(self) -> int:
        return self.access_log.stat().st_size

    def server_times_ms(self, offset: int) -> tuple[list[float], int]:
        """Per-request server times logged since `offset`, and how many were not 2xx."""
        times, bad = [], 0
        with open(self.access_log) as f:
            f.seek(offset)
            for line in f:
                parts = line.split()
                if len(parts) != 3:
                    continue
                times.append(int(parts[2]) / 1000)
                bad += not parts[1].startswith("2")
        return times, bad


def wrk(kind: str, targets: Path, seconds: int, connections: int = CONNECTIONS) -> dict:
    env = dict(os.environ, BENCH_TARGETS=str(targets), BENCH_KIND=kind, BENCH_MAX_REQUESTS="50000")
    done = subprocess.run(
        [
            "wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
            "-s", str(ROOT / "bench" / "loadgen.lua"), f"http://127.0.0.1:{PORT}",
        ],
        env=env, capture_output=True, text=True, timeout=seconds + 60,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr.strip()[:300]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors"] = sum(
        result[k]
        for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    return result


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(pct / 100 * len(ordered))) - 1))]


def load_pages(database: str, quick: bool, workdir: Path) -> dict:
    targets = workdir / "targets.tsv"
    info = workload(database, "pages", "--sessions", "300", "--targets", str(targets))
    with open(targets, "a") as out:
        out.write("floor\t/bench/floor\t\n")
    warmup, seconds = (1, 5) if quick else (2, 8)
    measured = {}
    with Gunicorn(database, workdir) as server:
        for kind in ("floor", "inbox", "proposal"):
            if kind != "floor" and not info["present"][kind]:
                continue
            wrk(kind, targets, warmup)
            offset, cpu = server.log_offset(), server.worker_cpu_seconds()
            client = wrk(kind, targets, seconds)
            time.sleep(0.3)  # let the workers finish writing the access log
            cpu = server.worker_cpu_seconds() - cpu
            times, bad = server.server_times_ms(offset)
            measured[kind] = {
                "client": client,
                "server_p50_ms": percentile(times, 50),
                "server_p95_ms": percentile(times, 95),
                "server_p99_ms": percentile(times, 99),
                "logged": len(times),
                # Less sensitive to other load on the machine than wall time (database excluded).
                "worker_cpu_ms_per_request": round(cpu * 1000 / len(times), 2) if times else None,
                "non_2xx": bad,
            }
        worker_peak = server.worker_peak_mb()
    return {"info": info, "measured": measured, "worker_peak_mb": worker_peak}


# --- rows ----------------------------------------------------------------------------------


def row(workload, size, value, unit, floor, target, passed, rss, **detail) -> dict:
    ratio = round(value / floor, 2) if value is not None and floor else None
    return {
        "workload": workload,
        "size": size,
        "value": None if value is None else round(value, 4),
        "unit": unit,
        "floor": None if floor is None else round(floor, 4),
        "ratio": ratio,
        "target": target,
        "pass": bool(passed),
        "peak_rss_mb": rss,
        # Other work on the machine inflates absolute times; ratios suffer much less.
        "loadavg_1m": round(os.getloadavg()[0], 2),
        **detail,
    }


def service_row(name, label, count, result) -> dict:
    t = TARGETS[name]
    ratio = result["value"] / result["floor"] if result["floor"] else None
    passed = (
        result["value"] < t["seconds"]
        and ratio is not None
        and ratio <= t["ratio"]
        and result["peak_rss_mb"] < t["rss_mb"]
    )
    floor_name = "COPY of the same rows" if name == "campaign" else "one UPDATE"
    return row(
        name,
        f"{count:,} @{label}",
        result["value"],
        "s",
        result["floor"],
        f"<{t['seconds']:g} s, <={t['ratio']:g}x, <{t['rss_mb']:g} MB",
        passed,
        result["peak_rss_mb"],
        status="ok",
        floor_is=floor_name,
        runs=result["runs"],
        floor_runs=result["floor_runs"],
        **{
            k: result[k]
            for k in ("python_cpu_runs", "service_only_runs", "tasks_run", "rows_written")
            if k in result
        },
    )


def page_rows(label: str, pages: dict, smaller: dict | None) -> list[dict]:
    t = TARGETS["pages"]
    info, measured, rss = pages["info"], pages["measured"], pages["worker_peak_mb"]
    floor = measured["floor"]
    rows = [
        row(
            "http-floor",
            f"{CONNECTIONS} conns @{label}",
            floor["client"]["rps"],
            "req/s",
            None,
            "reference (bare view, 2 workers)",
            floor["client"]["errors"] == 0 and floor["non_2xx"] == 0,
            rss,
            status="ok",
            client_p99_ms=floor["client"]["p99_us"] / 1000,
            server_p95_ms=floor["server_p95_ms"],
            requests=floor["client"]["requests"],
        )
    ]
    for kind, name in (("inbox", "inbox"), ("proposal", "proposal-page")):
        size = f"{label} employees"
        target = f"p95<{t['p95_ms']:g} ms, queries same as @10k, worker <{t['rss_mb']:g} MB"
        if not info["present"][kind]:
            rows.append(row(name, size, None, "ms p95", None, target, False, None,
                            status="missing", note="URL not in the project yet"))  # fmt: skip
            continue
        m = measured[kind]
        queries = info["queries"][kind]
        checks = {
            "p95": m["server_p95_ms"] is not None and m["server_p95_ms"] < t["p95_ms"],
            "rss": rss < t["rss_mb"],
            "all_2xx": m["non_2xx"] == 0
            and m["client"]["errors"] == 0
            and all(s == "200" for s in info["statuses"][kind]),
        }
        if smaller is not None:  # the same page at a tenth of the data
            small_queries = smaller["info"]["queries"][kind]
            checks["queries_flat"] = queries == small_queries
            checks["rss_flat"] = rss <= smaller["worker_peak_mb"] + t["rss_growth_mb"]
        rows.append(
            row(
                name,
                size,
                m["server_p95_ms"],
                "ms p95",
                floor["server_p95_ms"],
                target,
                all(checks.values()),
                rss,
                status="ok",
                queries=queries,
                checks=checks,
                server_p50_ms=m["server_p50_ms"],
                server_p99_ms=m["server_p99_ms"],
                worker_cpu_ms_per_request=m.get("worker_cpu_ms_per_request"),
                floor_worker_cpu_ms_per_request=floor.get("worker_cpu_ms_per_request"),
                client_p99_ms=m["client"]["p99_us"] / 1000,
                rps=round(m["client"]["rps"], 1),
                requests=m["client"]["requests"],
                non_2xx=m["non_2xx"],
                statuses=info["statuses"][kind],
            )
        )
    return rows


def growth(rows: list[dict]) -> None:
    """On each full-size row, how much its value grew from the tenth size (10 = linear for
    campaign and sweep, whose work grows tenfold; about 1 for the pages, whose work does not)."""
    small = {r["workload"]: r for r in rows if r["size"].endswith("@10k") or "10k " in r["size"]}
    for r in rows:
        tenth = small.get(r["workload"])
        if tenth is not None and tenth is not r and r["value"] and tenth["value"]:
            r["growth_vs_10k"] = round(r["value"] / tenth["value"], 2)


def fmt(value, unit="") -> str:
    if value is None:
        return "-"
    if unit == "req/s":
        return f"{value:,.0f} req/s"
    if unit == "s":
        return f"{value:.3f} s"
    if unit.startswith("ms"):
        return f"{value:.1f} ms"
    return f"{value}"


def table(rows: list[dict]) -> str:
    header = ["workload", "size", "this project", "floor", "ratio", "target", "pass/fail"]
    lines = []
    for r in rows:
        floor_unit = r["unit"]
        verdict = "PASS" if r["pass"] else ("MISSING" if r.get("status") == "missing" else "FAIL")
        lines.append(
            [
                r["workload"],
                r["size"],
                fmt(r["value"], r["unit"])
                + (
                    f", p99 {r['client_p99_ms']:.0f} ms"
                    if "client_p99_ms" in r and r["workload"] == "http-floor"
                    else ""
                ),
                fmt(r["floor"], floor_unit),
                "-" if r["ratio"] is None else f"{r['ratio']:.1f}x",
                r["target"],
                verdict,
            ]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=False)]
    out = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=False))]
    out.append("-|-".join("-" * w for w in widths))
    out += [
        " | ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=False)) for line in lines
    ]
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tenth size only (10k employees)")
    parser.add_argument("--reseed", action="store_true", help="seed the templates again")
    parser.add_argument("--repeat", type=int, default=3, help="runs per service timing")
    parser.add_argument(
        "--profile",
        action="store_true",
        help=f"also profile one extra run of each service (pyinstrument) into {PROFILES}",
    )
    args = parser.parse_args(argv)
    if args.profile:
        try:
            import pyinstrument  # noqa: F401
        except ImportError:
            print("--profile needs pyinstrument: pip install -e '.[bench]'", file=sys.stderr)
            return 2
        os.environ["BENCH_PROFILE_DIR"] = str(PROFILES)
    sys.path.insert(0, str(ROOT))
    if shutil.which("wrk") is None:
        print("wrk is not installed: `apt-get install wrk` (make bench does it)", file=sys.stderr)
        return 2
    problem = services_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    started = time.monotonic()
    rows: list[dict] = []
    pages_by_size: dict[str, dict] = {}
    seeding: dict[str, float] = {}
    sizes = QUICK if args.quick else FULL
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for label, employees, count in sizes:
            database, seed_seconds = prepare_database(employees, args.reseed)
            if seed_seconds is not None:
                seeding[label] = round(seed_seconds, 1)
            rows.append(seed_row(label, employees, seed_seconds is not None))
            flush_redis()
            log(f"@{label}: campaign of {count:,}")
            result = workload(database, "campaign", "--count", str(count),
                              "--repeat", str(args.repeat))  # fmt: skip
            rows.append(service_row("campaign", label, count, result))
            log(f"@{label}: sweep of {count:,}")
            result = workload(database, "sweep", "--count", str(count),
                              "--repeat", str(args.repeat))  # fmt: skip
            rows.append(service_row("sweep", label, count, result))
            flush_redis()
            log(f"@{label}: pages under gunicorn + wrk")
            workdir = Path(tmp) / label
            workdir.mkdir()
            pages = load_pages(database, args.quick, workdir)
            smaller = pages_by_size.get("10k") if label != "10k" else None
            rows.extend(page_rows(label, pages, smaller))
            pages_by_size[label] = pages
        flush_redis()
    growth(rows)
    rows.sort(key=lambda r: ORDER.index(r["workload"]))
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
    print(table(rows))
    seeded = "".join(f"; seeded @{k} in {v:.0f} s" for k, v in seeding.items())
    print(
        f"\n{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
        f"{time.monotonic() - started:.0f} s{seeded}; "
        f"{sum(r['pass'] for r in rows)}/{len(rows)} pass; rows in {RESULTS.relative_to(ROOT)}"
    )
    return 0 if all(r["pass"] for r in rows) else 1
