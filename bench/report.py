"""The rows: targets, pass/fail, the printed table (bench/results.json holds the same rows)."""

import os

from bench.http import CONNECTIONS

ORDER = ["seed", "campaign", "sweep", "dashboard", "hr-overview", "no-adverse", "inbox",
         "proposal-page", "http-floor"]  # fmt: skip
FULL_EMPLOYEES = 100_000
SEED_SECONDS, SEED_RSS_MB = 180.0, 1024.0  # at 100,000 employees; time scales with size
TARGETS = {
    "campaign": {"seconds": 5.0, "ratio": 5.0, "rss_mb": 500.0},  # issue 10: within 5x COPY
    "sweep": {"seconds": 2.0, "ratio": 10.0, "rss_mb": 500.0},
    "pages": {"p95_ms": 100.0, "rss_mb": 250.0, "rss_growth_mb": 25.0},
    "dashboard": {"p95_ms": 200.0, "ratio": 1.5, "rss_mb": 500.0},
}


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


def error_row(workload: str, size: str, exc: Exception) -> dict:
    """A workload that could not run at all: shown as ERROR with the reason, never skipped."""
    return row(workload, size, None, "", None, "-", False, None, status="error", error=str(exc))


def seed_row(label: str, employees: int, marker: tuple, seeded_now: bool) -> dict:
    """The seeding of this size's template, as recorded in its marker when it was built."""
    seconds, rss, seeded_at = marker
    limit = SEED_SECONDS * employees / FULL_EMPLOYEES
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


def dashboard_row(
    label: str, result: dict, smaller: dict | None, *, workload: str = "dashboard", target=None
) -> dict:
    """An HR page (one campaign's dashboard, or bench.hr_dashboards' pages): p95 of the page
    against p95 of its aggregate SQL run bare, and (at full size) the same query count as at
    the tenth size."""
    t = target or TARGETS["dashboard"]
    ratio = result["value"] / result["floor"] if result["floor"] else None
    checks = {
        "p95": result["value"] < t["p95_ms"],
        "ratio": ratio is not None and ratio <= t["ratio"],
        "rss": result["peak_rss_mb"] < t["rss_mb"],
        "all_200": result["statuses"] == ["200"],
    }
    if smaller is not None:
        checks["queries_flat"] = result["queries"] == smaller["queries"]
    queries_target = "queries same as @10k" if smaller else "query count baseline"
    return row(
        workload,
        f"{label} employees",
        result["value"],
        "ms p95",
        result["floor"],
        f"p95<{t['p95_ms']:g} ms, <={t['ratio']:g}x, {queries_target}, <{t['rss_mb']:g} MB",
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
                "campaign_id",
                "proposals",
                "queries",
                "floor_statements",
                "statuses",
            )
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
        queries_target = "queries same as @10k" if smaller else "query count baseline"
        target = f"p95<{t['p95_ms']:g} ms, {queries_target}, worker <{t['rss_mb']:g} MB"
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
        status = r.get("status")
        verdict = (
            "PASS" if r["pass"] else {"missing": "MISSING", "error": "ERROR"}.get(status, "FAIL")
        )
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
