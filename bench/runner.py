"""`python -m bench [--quick] [--profile] [--reseed]`: seed once, run, print the table, write JSON.

For each size (10,000 employees, then 100,000 unless --quick):

1. A template database `<bench>_seed_<n>` is seeded by `seed_scale` once and marked; later
   runs only migrate it. Each run then works on a fresh copy, `<bench>`, so runs never see
   each other's leftovers (the ledger refuses DELETE, so nothing could be cleaned up anyway).
2. campaign and sweep run in their own processes (bench.workloads), each timing the
   service and its floor in the same process, on the same database, a few times; so does
   one campaign's HR dashboard, against the aggregate SQL it runs.
3. The pages are served by gunicorn (2 sync workers) and loaded by wrk from a second
   process on 127.0.0.1, bounded in time and requests: first the bare floor view, then
   the inbox and proposal pages of a few hundred logged-in employees. Server time is
   gunicorn's own per-request time (%(D)s in its access log), so it excludes queueing.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench import consent_check, hr_dashboards, integration
from bench.databases import (
    ROOT,
    flush_redis,
    log,
    prepare_database,
    seed_marker,
    services_problem,
    workload,
)
from bench.http import load_pages
from bench.report import (
    ORDER,
    dashboard_row,
    error_row,
    growth,
    page_rows,
    seed_row,
    service_row,
    table,
)

RESULTS = ROOT / "bench" / "results.json"
PROFILES = ROOT / "var" / "bench-profiles"
# (label, employees, proposals for campaign and sweep)
FULL = [("10k", 10_000, 700), ("100k", 100_000, 7_000)]
QUICK = FULL[:1]
DASHBOARD_REQUESTS = 100


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
    dashboards_by_size: dict[str, dict] = {}
    seeding: dict[str, float] = {}
    sizes = QUICK if args.quick else FULL
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for label, employees, count in sizes:
            database, seed_seconds = prepare_database(employees, args.reseed)
            if seed_seconds is not None:
                seeding[label] = round(seed_seconds, 1)
            rows.append(
                seed_row(label, employees, seed_marker(employees), seed_seconds is not None)
            )
            flush_redis()
            for name in ("campaign", "sweep"):
                log(f"@{label}: {name} of {count:,}")
                try:
                    result = workload(database, name, "--count", str(count),
                                      "--repeat", str(args.repeat))  # fmt: skip
                except RuntimeError as exc:  # one broken workload must not hide the others
                    rows.append(error_row(name, f"{count:,} @{label}", exc))
                    continue
                rows.append(service_row(name, label, count, result))
            log(f"@{label}: one campaign's dashboard, {DASHBOARD_REQUESTS} requests")
            try:
                result = workload(database, "dashboard", "--count", str(DASHBOARD_REQUESTS))
            except RuntimeError as exc:
                rows.append(error_row("dashboard", f"{label} employees", exc))
            else:
                smaller = dashboards_by_size.get("10k") if label != "10k" else None
                rows.append(dashboard_row(label, result, smaller))
                dashboards_by_size[label] = result
            for name in hr_dashboards.PAGES:  # the HR overview and "no adverse consequence"
                log(f"@{label}: {name}, {hr_dashboards.REQUESTS} requests")
                try:
                    result = workload(database, name, "--count", str(hr_dashboards.REQUESTS))
                except RuntimeError as exc:
                    rows.append(error_row(name, f"{label} employees", exc))
                    continue
                smaller = dashboards_by_size.get(f"10k {name}") if label != "10k" else None
                rows.append(hr_dashboards.result_row(name, label, result, smaller))
                dashboards_by_size[f"{label} {name}"] = result
            flush_redis()
            log(f"@{label}: pages under gunicorn + wrk")
            workdir = Path(tmp) / label
            workdir.mkdir()
            try:
                pages = load_pages(database, args.quick, workdir)
            except RuntimeError as exc:
                rows.append(error_row("inbox", f"{label} employees", exc))
                continue
            smaller = pages_by_size.get("10k") if label != "10k" else None
            rows.extend(page_rows(label, pages, smaller))
            pages_by_size[label] = pages
            flush_redis()
            rows.extend(consent_check.rows(database, label, args.quick, workdir / "check"))
            # Last: they add people (SCIM) and proposals the rows above must not see.
            flush_redis()
            rows.extend(integration.rows(database, label, args.quick, args.repeat, workdir))
        flush_redis()
    growth(rows)
    after_dashboard = ORDER.index("dashboard") + 1
    order = ORDER[:after_dashboard] + integration.ROWS + ORDER[after_dashboard:]
    order += consent_check.ROWS
    rows.sort(key=lambda r: order.index(r["workload"]))
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
    print(table(rows))
    for r in rows:
        if r.get("status") == "error":
            print(f"ERROR {r['workload']} {r['size']}: {r['error']}")
    seeded = "".join(f"; seeded @{k} in {v:.0f} s" for k, v in seeding.items())
    print(
        f"\n{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
        f"{time.monotonic() - started:.0f} s{seeded}; "
        f"{sum(r['pass'] for r in rows)}/{len(rows)} pass; rows in {RESULTS.relative_to(ROOT)}"
    )
    return 0 if all(r["pass"] for r in rows) else 1
