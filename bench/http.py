"""The pages under gunicorn, loaded by wrk from a second process on 127.0.0.1."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.databases import ROOT, django_env, workload

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
PORT = int(os.environ.get("BENCH_PORT", "18765"))
CONNECTIONS = 32


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

    def __init__(self, database: str, workdir: Path, env: dict | None = None):
        self.database = database
        self.access_log = workdir / "access.log"
        self.error_log = workdir / "gunicorn.log"
        self.env = env or {}  # on top of the bench's own (e.g. a setting one row changes)
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
            env={**django_env(self.database), **self.env},
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
                parts = line.split()  # path, status, microseconds
                if len(parts) != 3 or not parts[2].isdigit():
                    continue
                times.append(int(parts[2]) / 1000)
                bad += not parts[1].startswith("2")
        return times, bad


def wrk(
    kind: str,
    targets: Path,
    seconds: int,
    connections: int = CONNECTIONS,
    script: Path = ROOT / "bench" / "loadgen.lua",
    env: dict | None = None,
) -> dict:
    env = {
        **os.environ, "BENCH_TARGETS": str(targets), "BENCH_KIND": kind,
        "BENCH_MAX_REQUESTS": "50000", **(env or {}),
    }  # fmt: skip
    done = subprocess.run(
        [
            "wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
            "-s", str(script), f"http://127.0.0.1:{PORT}",
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
