"""HR's other dashboard pages at scale, measured like the campaign dashboard
(bench.workloads.dashboard): the overview of every campaign (/hr/dashboards/) and "no adverse
consequence" (/hr/dashboards/no-adverse-consequence/), each through Django's whole stack in
one process, against its floor: the page's own aggregate statements run bare on a psycopg
connection with the same parameters, interleaved with the page so both see the same machine.

    python -m bench.workloads hr-overview --count 30
    python -m bench.workloads no-adverse --count 30

Both read every campaign's proposals (about 300,000 at 100,000 employees), so they get fewer
requests than one campaign's page.
"""

import time

from bench.report import row

REQUESTS = 30
TARGET = {"p95_ms": 300.0, "ratio": 1.5, "rss_mb": 500.0}
PAGES = {
    # workload name: (path, the reports.selectors function giving the page's statements)
    "hr-overview": ("/hr/dashboards/", "campaigns_with_counts_sql"),
    "no-adverse": ("/hr/dashboards/no-adverse-consequence/", "outcomes_by_answer_sql"),
}


def _pct(values, p):
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))], 2)


def measure(name: str, requests: int) -> dict:
    """p95 of the page and p95 of its statements run bare, `requests` times each."""
    from allauth.mfa.models import Authenticator
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.workloads import hr_user, peak_rss_mb, raw_connection
    from reports import selectors
    from reports.permissions import HR_NAMESPACE, Scope

    path, statements_of = PAGES[name]
    actor = hr_user()
    # HR must have a second factor whenever DEBUG is off; a production HR partner has one.
    if not Authenticator.objects.filter(user=actor, type=Authenticator.Type.TOTP).exists():
        Authenticator.objects.create(user=actor, type=Authenticator.Type.TOTP, data={})
    client = Client()
    client.force_login(actor)
    statements = getattr(selectors, statements_of)(Scope(HR_NAMESPACE))
    raw = raw_connection()
    raw.autocommit = True
    raw.prepare_threshold = None  # planned on every run, as the page's are (see workloads)

    def floor_once() -> float:
        started = time.perf_counter()
        for sql, params in statements:
            raw.execute(sql, params).fetchall()
        return time.perf_counter() - started

    for _ in range(2):  # warm: caches, compiled templates, connections
        client.get(path)
        floor_once()
    connection.force_debug_cursor = True  # count the page's queries once, with DEBUG off
    with CaptureQueriesContext(connection) as captured:
        status = client.get(path).status_code
    queries = len(captured)  # now: the next request empties the connection's query log
    connection.force_debug_cursor = False
    page_ms, floor_ms, cpu_ms, statuses = [], [], [], set()
    for _ in range(requests):
        started, cpu = time.perf_counter(), time.process_time()
        statuses.add(client.get(path).status_code)
        page_ms.append((time.perf_counter() - started) * 1000)
        cpu_ms.append((time.process_time() - cpu) * 1000)
        floor_ms.append(floor_once() * 1000)
    raw.close()
    return {
        "value": _pct(page_ms, 95),
        "floor": _pct(floor_ms, 95),
        "page_p50_ms": _pct(page_ms, 50),
        "floor_p50_ms": _pct(floor_ms, 50),
        "python_cpu_ms_p50": _pct(cpu_ms, 50),
        "requests": requests,
        "path": path,
        "queries": queries,
        "floor_statements": len(statements),
        "statuses": sorted(str(s) for s in {status, *statuses}),
        "peak_rss_mb": peak_rss_mb(),
    }


def result_row(name: str, label: str, result: dict, smaller: dict | None) -> dict:
    """The page's p95 against its SQL's p95, and (at full size) the same query count as at
    the tenth size."""
    ratio = result["value"] / result["floor"] if result["floor"] else None
    checks = {
        "p95": result["value"] < TARGET["p95_ms"],
        "ratio": ratio is not None and ratio <= TARGET["ratio"],
        "rss": result["peak_rss_mb"] < TARGET["rss_mb"],
        "all_200": result["statuses"] == ["200"],
    }
    if smaller is not None:
        checks["queries_flat"] = result["queries"] == smaller["queries"]
    queries_target = "queries same as @10k" if smaller else "query count baseline"
    return row(
        name,
        f"{label} employees",
        result["value"],
        "ms p95",
        result["floor"],
        f"p95<{TARGET['p95_ms']:g} ms, <={TARGET['ratio']:g}x, {queries_target}",
        all(checks.values()),
        result["peak_rss_mb"],
        status="ok",
        floor_is="the page's aggregate SQL, run bare (psycopg)",
        checks=checks,
        **{
            k: result[k]
            for k in (
                "page_p50_ms",
                "floor_p50_ms",
                "python_cpu_ms_p50",
                "requests",
                "path",
                "queries",
                "floor_statements",
                "statuses",
            )
        },
    )
