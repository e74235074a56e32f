"""Nothing is lost, nothing is sent twice: a real worker is killed half-way through 1,000 emails.

Real parts only: a Celery worker subprocess on the Redis broker from settings, the pytest
PostgreSQL database (transactional, so the worker sees committed rows), and an aiosmtpd server
that counts each message by Message-ID. The SMTP server itself pulls the trigger: when the
500th message is in the middle of its DATA command, it SIGKILLs the worker and does not accept
that message. So the kill always lands while a task holds a claimed row mid-send, the worst
moment for a duplicate, and the test can name the message that must come back.

Redelivery is not simulated: after a whole-worker kill the message sits in Redis' unacked set
until the visibility timeout passes and a worker's restore cycle puts it back (both shortened
here through the environment, CELERY_VISIBILITY_TIMEOUT and CELERY_UNACKED_RESTORE_*); after a
pool-child kill the parent rejects it back onto the queue (task_reject_on_worker_lost). The test
asserts the killed message was attempted by the dead worker and accepted later, once.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from consent import crypto, signing
from notifications.models import Notification
from notifications.services import NotificationSpec, notify_many
from notifications.tasks import send_notification_email
from tests.conftest import make_person

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TOTAL = 1000
KILL_AT = 500
VISIBILITY_TIMEOUT = 5  # seconds; production keeps the default hour
ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict  # the pytest database (test_<name>), not the dev one
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _worker_env(smtp_port: int) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=_database_url(),
        REDIS_URL=settings.CELERY_BROKER_URL,
        # Debug off, so the worker uses the real SMTP backend like production does.
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="worker-kill-test",
        PORTAL_RECEIPT_SIGNING_KEYS=signing.generate_pem(),  # required with debug off
        PORTAL_LEDGER_MASTER_KEY=crypto.generate_master_key(),  # required with debug off
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        EMAIL_TIMEOUT="5",
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        CELERY_UNACKED_RESTORE_INTERVAL="1",
        CELERY_UNACKED_RESTORE_THROTTLE="1",
    )
    return env


class Worker:
    def __init__(self, env, log: Path, pool: str = "prefork"):
        self.log = log
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "--pool",
                pool,
                "--concurrency",
                "1",
                # A few messages reserved ahead (still unacked until done): each round trip to
                # Redis costs more than the task. They are restored like the one in flight.
                "--prefetch-multiplier",
                "4",
                "--loglevel",
                "warning",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"kill-test-{uuid.uuid4().hex[:8]}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killpg takes the pool too
        )

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def kill_all(self):
        os.killpg(self.process.pid, signal.SIGKILL)

    def kill_child(self):
        for pid in self.children():
            os.kill(pid, signal.SIGKILL)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def _queue_thousand_emails(broker) -> list[int]:
    # A clean queue: no message from another test may reach this worker.
    broker.delete("celery", "unacked", "unacked_index")
    people = [make_person(f"reader{i}@example.test", f"Reader {i}", None) for i in range(10)]
    notify_many(
        [
            NotificationSpec(
                recipient_id=people[i % 10].user_id,
                kind=Notification.Kind.PROPOSAL_WITHDRAWN,
                dedupe_key=f"kill-test:{i}",
                context={
                    "employee_name": people[i % 10].name,
                    "to_team": "Applied AI",
                    "proposer_name": "Morgan",
                },
                email=True,
            )
            for i in range(TOTAL)
        ]
    )
    ids = list(Notification.objects.order_by("pk").values_list("pk", flat=True))
    broker.delete("celery")  # drop the fan-out task queued on commit: one message per email
    for pk in ids:
        send_notification_email.delay(pk)
    assert broker.llen("celery") == TOTAL
    return ids


def _wait_for(condition, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    tail = log.read_text()[-3000:] if log.exists() else ""
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{tail}")


def _arm_kill(smtp, kill):
    """Kill the worker while the KILL_AT-th message is in DATA; refuse that message."""
    state = {"victim": None}

    def on_data(message_id):
        if state["victim"] is None and sum(smtp.accepted.values()) >= KILL_AT:
            state["victim"] = message_id
            kill()
            return "421 4.3.2 shutting down"
        return None

    smtp.on_data = on_data
    return state


def _assert_each_sent_exactly_once(smtp, ids):
    assert sum(smtp.accepted.values()) == TOTAL
    assert len(smtp.accepted) == TOTAL
    assert set(smtp.accepted.values()) == {1}
    states = Notification.objects.filter(pk__in=ids).values_list("email_state", flat=True)
    assert set(states) == {Notification.EmailState.SENT}


def test_a_killed_worker_loses_no_email_and_sends_none_twice(smtp_server, broker, tmp_path):
    smtp = smtp_server
    ids = _queue_thousand_emails(broker)
    log = tmp_path / "worker.log"
    env = _worker_env(smtp.port)
    # One process (solo pool) is the fastest way through 1,000 emails; the whole worker dies.
    first = Worker(env, log, pool="solo")
    started = time.monotonic()
    try:
        state = _arm_kill(smtp, first.kill_all)
        _wait_for(lambda: first.process.poll() is not None, 120, "the first worker to die", log)
        victim = state["victim"]
        delivered_by_first = sum(smtp.accepted.values())
        assert delivered_by_first == KILL_AT
        assert smtp.attempted[victim] == 1 and smtp.accepted[victim] == 0
        # The message the dead worker held is in Redis' unacked set, not in the queue, stamped
        # with the time it was handed out; Redis may give it back only a visibility timeout later.
        assert broker.hlen("unacked") >= 1
        handed_out = min(
            score for _, score in broker.zrange("unacked_index", 0, -1, withscores=True)
        )
        killed_at = time.monotonic()

        second = Worker(env, log, pool="solo")
        try:
            _wait_for(lambda: sum(smtp.accepted.values()) >= TOTAL, 120, "all emails", log)
            restored_after = time.monotonic() - killed_at
            time.sleep(1.5)  # a duplicate, if any, would arrive now
        finally:
            second.stop()
    finally:
        first.stop()
    _assert_each_sent_exactly_once(smtp, ids)
    # Redelivery really happened: the victim was attempted twice and accepted once, by the
    # second worker, after the visibility timeout.
    assert smtp.attempted[victim] == 2 and smtp.accepted[victim] == 1
    assert TOTAL - delivered_by_first == TOTAL - KILL_AT  # the second worker sent the rest
    assert smtp.accepted_at[victim] >= handed_out + VISIBILITY_TIMEOUT
    assert broker.hlen("unacked") == 0
    print(
        f"\nwhole-worker kill: {delivered_by_first} sent before the kill, "
        f"{TOTAL - delivered_by_first} after, victim {victim} accepted "
        f"{smtp.accepted_at[victim] - handed_out:.1f}s after Redis first handed it out "
        f"(visibility timeout {VISIBILITY_TIMEOUT}s), all done {restored_after:.1f}s after the "
        f"kill; total {time.monotonic() - started:.1f}s"
    )


def test_a_killed_pool_process_loses_no_email_and_sends_none_twice(smtp_server, broker, tmp_path):
    smtp = smtp_server
    ids = _queue_thousand_emails(broker)
    log = tmp_path / "worker.log"
    worker = Worker(_worker_env(smtp.port), log)
    started = time.monotonic()
    try:
        _wait_for(lambda: worker.children(), 30, "the pool process", log)
        original_children = worker.children()
        state = _arm_kill(smtp, worker.kill_child)
        _wait_for(lambda: sum(smtp.accepted.values()) >= TOTAL, 120, "all emails", log)
        time.sleep(1.5)  # a duplicate, if any, would arrive now
        assert worker.process.poll() is None  # the parent survived and replaced its child
        assert worker.children() and worker.children() != original_children
    finally:
        worker.stop()
    victim = state["victim"]
    _assert_each_sent_exactly_once(smtp, ids)
    assert smtp.attempted[victim] == 2 and smtp.accepted[victim] == 1
    print(
        f"\npool-child kill: victim {victim} redelivered; total {time.monotonic() - started:.1f}s"
    )
