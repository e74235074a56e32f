"""The api-bulk, scim-sync and webhooks rows of `make bench` have the promised shape and fail
when their targets are missed (a duplicate delivery, a bad signature, a slow bulk request)."""

import json
import time

from bench import integration, report
from webhooks import signing

KEYS = {"workload", "size", "value", "floor", "ratio", "target", "pass", "peak_rss_mb"}


def bulk(value=2.0, floor=0.5, statuses=("201",)) -> dict:
    return {"value": value, "floor": floor, "runs": [value], "floor_runs": [floor],
            "statuses": list(statuses), "queries": 28, "peak_rss_mb": 190.0}  # fmt: skip


def delivered(count=1000, duplicates=0, bad=0) -> dict:
    return {"value": 10.0, "floor": 2.0, "fan_out_seconds": 1.0, "received_unique": count,
            "duplicates": duplicates, "bad_signatures": bad, "delivered": count,
            "attempts": {"total": count, "most": 1}, "workers": 4,
            "peak_rss_mb": 150.0}  # fmt: skip


def scim(post_p95=20.0, walk_p95=40.0, floor=5.0, non_2xx=0) -> dict:
    def part(p95, users, total):
        return {"users": users, "total": total, "seconds": 10.0, "requests": users,
                "errors": 0, "non_2xx": non_2xx, "server_p50_ms": p95 / 2,
                "server_p95_ms": p95, "server_p99_ms": p95 * 2}  # fmt: skip

    return {"floor_p95_ms": floor, "provision": part(post_p95, 1000, 1000),
            "walk": part(walk_p95, 11000, 11000)}  # fmt: skip


def test_the_rows_have_the_promised_keys_and_pass_within_their_targets():
    rows = [
        integration.api_bulk_row("10k", 7000, bulk()),
        *integration.scim_rows("10k", 1000, scim()),
        integration.webhooks_row("10k", 1000, delivered()),
    ]
    loaded = json.loads(json.dumps(rows))
    assert all(set(r) >= KEYS and r["pass"] is True for r in loaded)
    assert [r["workload"] for r in loaded] == ["api-bulk", "scim-sync", "scim-sync", "webhooks"]
    assert loaded[0]["ratio"] == 4.0 and loaded[1]["ratio"] == 4.0
    assert loaded[3]["deliveries_per_second"] == 100.0
    assert len(report.table(rows).splitlines()) == 2 + len(rows)


def test_api_bulk_fails_over_five_seconds_or_ten_times_copy():
    assert integration.api_bulk_row("10k", 7000, bulk(value=5.5, floor=1.0))["pass"] is False
    slow = integration.api_bulk_row("10k", 7000, bulk(value=4.0, floor=0.3))
    assert slow["pass"] is False and slow["checks"]["ratio"] is False
    assert integration.api_bulk_row("10k", 7000, bulk(statuses=("400",)))["pass"] is False


def test_scim_fails_when_a_page_is_over_ten_times_the_bare_view_or_not_2xx():
    post, walk = integration.scim_rows("10k", 1000, scim(walk_p95=60.0))
    assert post["pass"] is True and walk["pass"] is False
    assert all(not r["pass"] for r in integration.scim_rows("10k", 1000, scim(non_2xx=1)))


def test_webhooks_fail_on_a_duplicate_or_a_bad_signature():
    twice = integration.webhooks_row("10k", 1000, delivered(duplicates=1))
    assert twice["pass"] is False and twice["checks"]["no_duplicates"] is False
    forged = integration.webhooks_row("10k", 1000, delivered(bad=1))
    assert forged["pass"] is False and forged["checks"]["signatures_verified"] is False


def test_the_receiver_verifies_with_standardwebhooks_and_counts_duplicates():
    secret = signing.new_secret()
    receiver = integration._Receiver(secret)
    body = '{"type":"proposal.created","data":{"proposal_id":1}}'
    headers = signing.headers([secret], "msg_1", int(time.time()), body)
    receiver.take(headers, body.encode())
    receiver.take(headers, body.encode())  # the same webhook-id again
    receiver.take(signing.headers([signing.new_secret()], "msg_2", int(time.time()), body), b"x")
    assert receiver.stats() == {"unique": 1, "duplicates": 1, "bad": 1}
