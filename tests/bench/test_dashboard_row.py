"""The `dashboard` row of `make bench`: p95 of one campaign's HR dashboard against p95 of the
aggregate SQL it runs, the same query count at full size as at the tenth."""

import json

from bench import report

KEYS = {"workload", "size", "value", "floor", "ratio", "target", "pass", "peak_rss_mb"}


def result(p95=90.0, floor=70.0, queries=8, statuses=("200",)) -> dict:
    return {
        "value": p95,
        "floor": floor,
        "page_p50_ms": p95 / 2,
        "floor_p50_ms": floor / 2,
        "python_cpu_ms_p50": 12.0,
        "requests": 100,
        "campaign_id": 1,
        "proposals": 15000,
        "queries": queries,
        "floor_statements": 2,
        "statuses": list(statuses),
        "peak_rss_mb": 110.0,
    }


def test_the_dashboard_row_has_the_promised_keys_and_passes_within_its_targets():
    row = json.loads(json.dumps(report.dashboard_row("10k", result(), None)))

    assert set(row) >= KEYS
    assert row["workload"] == "dashboard" and row["size"] == "10k employees"
    assert row["ratio"] == round(90 / 70, 2) and row["pass"] is True
    assert row["queries"] == 8
    assert report.ORDER.index("sweep") < report.ORDER.index("dashboard")


def test_the_dashboard_fails_over_200_ms_or_over_one_and_a_half_times_its_sql():
    assert report.dashboard_row("10k", result(p95=210, floor=180), None)["pass"] is False
    slow = report.dashboard_row("10k", result(p95=120, floor=70), None)
    assert slow["pass"] is False and slow["checks"]["ratio"] is False


def test_the_full_size_dashboard_fails_when_its_query_count_grows():
    row = report.dashboard_row("100k", result(queries=9), result(queries=8))
    assert row["pass"] is False and row["checks"]["queries_flat"] is False
    assert report.dashboard_row("100k", result(), result())["pass"] is True


def test_a_dashboard_that_is_not_200_fails():
    assert report.dashboard_row("10k", result(statuses=("302",)), None)["pass"] is False
