"""The consent check's per-process cache: a warm check reads nothing, and every change that
could make a cached answer wrong (withdrawal, opt-out, opt-in, new purpose version, revoked
key, changed external id) is seen by the very next check; a lapse needs no change at all."""

import json
import threading
import time
from datetime import timedelta

import pytest
import redis
import time_machine
from django.conf import settings
from django.utils import timezone

from api import coherence
from api.keys import revoke
from datause import services
from datause.check import add_months
from tests.api.conftest import key_client
from tests.conftest import WEB

URL = "/api/v1/consent/check"


@pytest.fixture
def cache(eve, purpose):
    """This process' cache, registered and empty, once the cast's own changes are done: their
    marks would keep Eve's entries out of the cache (the test's transaction never commits, so
    nothing tells the cache their writers are done)."""
    local = coherence.local()
    assert local is not None and local.wait_ready(), "the cache needs Redis (REDIS_URL)"
    client = _redis()
    for token, mark in client.hgetall(coherence.PENDING).items():
        tags = json.loads(mark.decode().split("|", 3)[3])
        coherence.finish((token.decode(), tags))
    settle()
    local.forget()
    return local


def settle():
    """Wait until this process' listener has read every done entry (a millisecond or so)."""
    local = coherence.local()
    deadline = time.monotonic() + 2
    while local.pending_tags and time.monotonic() < deadline:
        time.sleep(0.005)


@pytest.fixture
def collector(db):
    client, key, _secret = key_client("consent:check", name="Telemetry")
    return client, key


def fresh_lease():
    """Wait (up to 3 s) until this process' lease has a second left: on two busy cores the
    listener thread can be late to renew it, and without a lease every check reads the
    database (right, but not what a "no query" assertion is about)."""
    local = coherence.local()
    deadline = time.monotonic() + 3
    while local.deadline - time.monotonic() < 1 and time.monotonic() < deadline:
        time.sleep(0.01)


def ask(client, employee="E-1001", purpose="keystrokes"):
    fresh_lease()
    response = client.get(URL, {"employee": employee, "purpose": purpose})
    return response.status_code, response.json()


def committed(django_capture_on_commit_callbacks, service, **kwargs):
    """Run a service and its on-commit callbacks (the test's transaction never commits)."""
    with django_capture_on_commit_callbacks(execute=True):
        result = service(**kwargs)
    settle()
    return result


def decide(capture, service, purpose, eve):
    return committed(
        capture, service, purpose=purpose, actor=eve.user,
        terms_sha256=purpose.terms_sha256, context=WEB,
    )  # fmt: skip


@pytest.mark.django_db
def test_a_warm_check_answers_without_a_single_query(
    cache, collector, purpose, eve, django_assert_num_queries, django_capture_on_commit_callbacks
):
    record = decide(django_capture_on_commit_callbacks, services.opt_in, purpose, eve)
    client, _ = collector
    assert ask(client)[1]["allowed"] is True  # cold: the key, then one statement
    with django_assert_num_queries(0):
        status, body = ask(client)
    assert status == 200
    assert body == {
        "employee": "E-1001",
        "purpose": "keystrokes",
        "allowed": True,
        "purpose_version": 1,
        "record_id": record.pk,
        "decided_at": body["decided_at"],
        "valid_until": body["valid_until"],
    }
    assert body["decided_at"].endswith("Z") and body["valid_until"] > body["decided_at"]


@pytest.mark.django_db
def test_a_withdrawal_is_seen_by_the_next_check(
    cache, collector, purpose, eve, django_capture_on_commit_callbacks
):
    decide(django_capture_on_commit_callbacks, services.opt_in, purpose, eve)
    client, _ = collector
    assert ask(client)[1]["allowed"] is True
    assert ask(client)[1]["allowed"] is True  # from the cache
    withdrawal = decide(django_capture_on_commit_callbacks, services.opt_out, purpose, eve)
    status, body = ask(client)
    assert (status, body["allowed"], body["record_id"]) == (200, False, withdrawal.pk)
    assert body["valid_until"] is None


@pytest.mark.django_db
def test_an_opt_out_and_an_opt_in_are_seen_by_the_next_check(
    cache, collector, purpose, eve, django_capture_on_commit_callbacks
):
    client, _ = collector
    assert ask(client)[1] | {"employee": 0} == {
        "employee": 0,
        "purpose": "keystrokes",
        "allowed": False,
        "purpose_version": 1,
        "record_id": None,
        "decided_at": None,
        "valid_until": None,
    }  # fmt: skip  (everyone starts at no)
    opt_out = decide(django_capture_on_commit_callbacks, services.opt_out, purpose, eve)
    assert ask(client)[1]["record_id"] == opt_out.pk
    opt_in = decide(django_capture_on_commit_callbacks, services.opt_in, purpose, eve)
    body = ask(client)[1]
    assert body["allowed"] is True and body["record_id"] == opt_in.pk


@pytest.mark.django_db
def test_a_new_purpose_version_is_seen_by_the_next_check(
    cache, collector, purpose, eve, manager, django_capture_on_commit_callbacks
):
    decide(django_capture_on_commit_callbacks, services.opt_in, purpose, eve)
    client, _ = collector
    assert ask(client)[1]["allowed"] is True
    draft = services.draft_next_version(purpose=purpose, categories=["keystrokes", "audio"])
    committed(
        django_capture_on_commit_callbacks, services.publish_purpose, purpose=draft,
        actor=manager.user,
    )  # fmt: skip
    body = ask(client)[1]
    assert (body["allowed"], body["purpose_version"], body["record_id"]) == (False, 2, None)


@pytest.mark.django_db
def test_a_lapsed_opt_in_is_not_allowed_even_from_the_cache(
    cache, collector, purpose, eve, django_assert_num_queries, django_capture_on_commit_callbacks
):
    record = decide(django_capture_on_commit_callbacks, services.opt_in, purpose, eve)
    client, _ = collector
    assert ask(client)[1]["allowed"] is True
    lapse = add_months(record.recorded_at, purpose.validity_months)
    before = time_machine.travel(lapse - timedelta(seconds=1), tick=False)
    with before, django_assert_num_queries(0):
        assert ask(client)[1]["allowed"] is True
    # Nothing was invalidated at the lapse: the cached entry and the clock decide.
    with time_machine.travel(lapse, tick=False), django_assert_num_queries(0):
        body = ask(client)[1]
    assert body["allowed"] is False and body["record_id"] == record.pk
    assert body["valid_until"].startswith(timezone.localtime(lapse).date().isoformat())


@pytest.mark.django_db
def test_a_revoked_key_is_refused_by_the_next_check(
    cache, collector, purpose, eve, django_assert_num_queries, django_capture_on_commit_callbacks
):
    client, key = collector
    assert ask(client)[0] == 200
    with django_assert_num_queries(0):
        assert ask(client)[0] == 200  # the key is cached too
    with django_capture_on_commit_callbacks(execute=True):
        assert revoke(key)
    settle()
    status, body = ask(client)
    assert status == 401 and "revoked" in body["detail"]


@pytest.mark.django_db
def test_a_key_whose_scopes_change_is_refused_by_the_next_check(
    cache, collector, purpose, eve, django_capture_on_commit_callbacks
):
    client, key = collector
    assert ask(client)[0] == 200
    key.scopes = ["consent:read"]
    with django_capture_on_commit_callbacks(execute=True):
        key.save(update_fields=["scopes"])
    status, body = ask(client)
    assert status == 403 and "consent:check" in body["detail"]


@pytest.mark.django_db
def test_a_changed_external_id_is_seen_by_the_next_check(
    cache, collector, purpose, eve, django_capture_on_commit_callbacks
):
    client, _ = collector
    assert ask(client)[0] == 200
    eve.external_id = "E-2002"
    with django_capture_on_commit_callbacks(execute=True):
        eve.save(update_fields=["external_id"])
    status, body = ask(client)
    assert status == 404 and body["allowed"] is False
    assert ask(client, employee="E-2002")[0] == 200


@pytest.mark.django_db
def test_nothing_is_cached_while_a_change_is_pending(
    cache, collector, purpose, eve, django_assert_num_queries
):
    """Between a writer's acknowledged mark and its commit, a check may read the old state
    from the database (it is still the committed one) but must not keep it."""
    client, _ = collector
    assert ask(client)[0] == 200
    mark = coherence.announce([f"u:{eve.user_id}"])
    try:
        for _ in range(2):
            with django_assert_num_queries(1):  # the key is cached; the answer is not
                assert ask(client)[0] == 200
    finally:
        coherence.finish(mark)
    settle()
    ask(client)
    with django_assert_num_queries(0):
        assert ask(client)[0] == 200


def _redis():
    return redis.Redis.from_url(settings.REDIS_URL)


def test_a_writer_waits_out_the_lease_of_a_worker_that_does_not_acknowledge():
    """A worker that is registered but silent (stuck, or killed without leaving) holds up
    the writer until its lease has run out by Redis' clock, and no longer."""
    client = _redis()
    seconds, micros = client.time()
    client.zadd(coherence.WORKERS, {"silent-worker": seconds * 1000 + micros // 1000 + 800})
    started = time.monotonic()
    mark = coherence.announce(["u:nobody"])
    waited = time.monotonic() - started
    coherence.finish(mark)
    assert 0.6 < waited < 0.8 + coherence.WAIT_LIMIT_S


def test_a_worker_behind_a_pending_mark_loses_its_lease():
    """A worker that renews without having read a mark older than the grace period is
    refused: its lease runs out, so a writer never waits longer than lease + grace."""
    client = _redis()
    renew = client.register_script(coherence.RENEW)
    client.eval(
        coherence.REGISTER, 5, coherence.WORKERS, coherence.ACKED, coherence.PENDING,
        coherence.STREAM, coherence.MARKER, "slow-worker", coherence.LEASE_MS,
    )  # fmt: skip
    position = client.hget(coherence.ACKED, "slow-worker").decode()
    args = ("slow-worker", position, coherence.LEASE_MS, coherence.PREFIX + "ack:", 300)
    keys = [coherence.WORKERS, coherence.ACKED, coherence.PENDING]
    assert renew(keys=keys, args=args) == 1
    writer = threading.Thread(target=lambda: coherence.finish(coherence.announce(["u:x"])))
    writer.start()
    time.sleep(0.4)  # the mark is older than this worker's 300 ms grace
    assert renew(keys=keys, args=args) == 0
    writer.join(timeout=coherence.WAIT_LIMIT_S)
    assert not writer.is_alive()
    client.zrem(coherence.WORKERS, "slow-worker")


def ask_batch(client, pairs):
    body = {"checks": [{"employee": e, "purpose": p} for e, p in pairs]}
    fresh_lease()
    response = client.post(URL, body, format="json")
    return response.status_code, response.json()


@pytest.mark.django_db
def test_a_batch_reads_its_misses_in_one_statement_and_nothing_when_warm(
    cache, collector, purpose, eve, platform, django_assert_num_queries,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    from tests.conftest import make_person

    people = [
        make_person(f"b{i}@example.test", f"B {i}", platform, external_id=f"B-{i}")
        for i in range(30)
    ]
    settle()
    cache.forget()
    record = decide(django_capture_on_commit_callbacks, services.opt_in, purpose, eve)
    client, _ = collector
    assert ask(client)[1]["allowed"] is True  # the key and Eve's answer are now cached
    pairs = [("E-1001", "keystrokes")] + [(p.external_id, "keystrokes") for p in people]
    with django_assert_num_queries(1):  # the 30 others, whatever their number
        status, body = ask_batch(client, [*pairs, ("ghost", "keystrokes")])
    assert status == 200
    results = body["results"]
    assert [r["allowed"] for r in results] == [True] + [False] * 31
    assert results[0]["record_id"] == record.pk and results[0]["status"] == 200
    assert results[-1]["status"] == 404 and results[-1]["detail"] == "unknown employee"
    with django_assert_num_queries(0):
        status, again = ask_batch(client, pairs)
    assert status == 200 and again["results"] == results[:-1]
    withdrawal = decide(django_capture_on_commit_callbacks, services.opt_out, purpose, eve)
    first = ask_batch(client, pairs)[1]["results"][0]
    assert (first["allowed"], first["record_id"]) == (False, withdrawal.pk)
