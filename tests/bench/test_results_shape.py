"""The rows `make bench` prints and writes to bench/results.json have the promised shape."""

import json

from bench import report

KEYS = {"workload", "size", "value", "floor", "ratio", "target", "pass", "peak_rss_mb"}


def fake_pages(p95_ms: float, rss: float, queries: int) -> dict:
    def measured(p95):
        client = {"rps": 1000.0, "p99_us": 9000, "errors": 0, "requests": 5000}
        return {"client": client, "server_p50_ms": p95 / 2, "server_p95_ms": p95,
                "server_p99_ms": p95 * 2, "non_2xx": 0}  # fmt: skip

    return {
        "info": {
            "present": {"inbox": True, "proposal": False},
            "queries": {"inbox": queries, "proposal": None},
            "statuses": {"inbox": ["200"], "proposal": []},
        },
        "measured": {"floor": measured(1.0), "inbox": measured(p95_ms)},
        "worker_peak_mb": rss,
    }


def test_rows_have_the_promised_keys_and_survive_a_json_round_trip(tmp_path):
    service = {"value": 2.0, "floor": 0.5, "runs": [2.0], "floor_runs": [0.5], "peak_rss_mb": 90}
    small = fake_pages(p95_ms=20, rss=80, queries=7)
    rows = [
        report.service_row("campaign", "100k", 7000, service),
        *report.page_rows("100k", fake_pages(p95_ms=30, rss=81, queries=7), small),
    ]

    path = tmp_path / "results.json"
    path.write_text(json.dumps(rows))
    loaded = json.loads(path.read_text())

    assert all(set(r) >= KEYS for r in loaded)
    assert all(isinstance(r["pass"], bool) for r in loaded)
    campaign, floor, inbox, proposal = loaded
    assert campaign["ratio"] == 4.0 and campaign["pass"] is True
    assert floor["workload"] == "http-floor" and floor["value"] == 1000.0
    assert inbox["ratio"] == 30.0 and inbox["pass"] is True
    assert proposal["status"] == "missing" and proposal["pass"] is False


def test_a_page_whose_query_count_grows_with_the_data_fails():
    small = fake_pages(p95_ms=20, rss=80, queries=7)
    rows = report.page_rows("100k", fake_pages(p95_ms=30, rss=81, queries=8), small)

    inbox = next(r for r in rows if r["workload"] == "inbox")
    assert inbox["pass"] is False
    assert inbox["checks"]["queries_flat"] is False


def test_the_table_has_one_line_per_row_under_the_promised_header():
    rows = report.page_rows("10k", fake_pages(p95_ms=20, rss=80, queries=7), None)

    lines = report.table(rows).splitlines()

    assert lines[0].split(" | ")[0].strip() == "workload"
    assert [c.strip() for c in lines[0].split("|")] == [
        "workload", "size", "this project", "floor", "ratio", "target", "pass/fail"
    ]  # fmt: skip
    assert len(lines) == 2 + len(rows)


def test_server_times_come_from_gunicorns_access_log_after_the_offset(tmp_path):
    from bench.http import Gunicorn, percentile

    server = Gunicorn("bench", tmp_path)
    server.access_log.write_text("/bench/floor 200 900\n")
    offset = server.log_offset()
    with open(server.access_log, "a") as log:
        log.write("/inbox/ 200 12000\n/inbox/ 200 30000\n/inbox/ 302 8000\nnot a line\n")

    times, not_2xx = server.server_times_ms(offset)

    assert times == [12.0, 30.0, 8.0]
    assert not_2xx == 1
    assert percentile(times, 50) == 12.0
    assert percentile(times, 95) == 30.0


def test_full_size_rows_say_how_much_they_grew_over_the_tenth_size():
    rows = [
        {"workload": "sweep", "size": "700 @10k", "value": 0.2},
        {"workload": "sweep", "size": "7,000 @100k", "value": 1.6},
    ]

    report.growth(rows)

    assert rows[1]["growth_vs_10k"] == 8.0
    assert "growth_vs_10k" not in rows[0]


def test_a_workload_that_cannot_run_is_an_error_row_not_a_gap():
    broken = report.error_row("campaign", "7,000 @100k", RuntimeError("propose_campaign failed"))

    assert set(broken) >= KEYS
    assert broken["pass"] is False
    assert "ERROR" in report.table([broken])


def _consent_check_measured(warm_rps=950.0, cold_rps=400.0, batch_p95=30.0, p99=8.0) -> dict:
    def side(check_rps):
        return {"floor_rps": 1000.0, "check_rps": check_rps, "check_client_p99_ms": 40.0,
                "check_server_p50_ms": 1.0, "check_server_p99_ms": p99,
                "floor_client_p99_ms": 38.0, "requests": 9000, "errors": 0, "non_2xx": 0,
                "worker_peak_mb": 90.0}  # fmt: skip

    return {
        "info": {"people": 1000, "opted_in": 100},
        "warm": side(warm_rps),
        "cold": side(cold_rps),
        "batch": {
            "server_p50_ms": batch_p95 / 2,
            "server_p95_ms": batch_p95,
            "requests": 80,
            "non_2xx": 0,
            "errors": 0,
            "client_p95_ms": batch_p95 * 2,
        },  # fmt: skip
    }


def test_the_consent_check_rows_are_named_as_promised_and_judged_on_their_targets():
    from bench import consent_check

    rows = consent_check.rows_from("10k", _consent_check_measured())

    assert [r["workload"] for r in rows] == [
        "consent-check", "consent-check-cold", "consent-check-batch"
    ]  # fmt: skip
    assert all(set(r) >= KEYS for r in rows) and all(r["pass"] for r in rows)
    assert rows[0]["ratio"] == 0.95 and rows[1]["ratio"] == 0.4
    assert set(consent_check.ROWS) == {r["workload"] for r in rows}
    assert len(report.table(rows).splitlines()) == 2 + len(rows)


def test_a_slow_check_or_batch_fails_its_row():
    from bench import consent_check

    slow = consent_check.rows_from(
        "10k", _consent_check_measured(warm_rps=800.0, cold_rps=250.0, batch_p95=60.0)
    )
    assert [r["pass"] for r in slow] == [False, False, False]
    late = consent_check.rows_from("10k", _consent_check_measured(p99=25.0))
    assert late[0]["pass"] is False and late[0]["checks"]["p99"] is False
