"""The Celery app, the one helper that queues work after commit, and every periodic job."""

import contextlib
import logging
import os

from celery import Celery, signals
from celery.schedules import crontab
from django.db import transaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

logger = logging.getLogger(__name__)

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic jobs. Deadlines live in the database and these jobs read them; no task ever waits
# on an ETA or countdown longer than a minute (with Redis such a task is delivered again each
# visibility timeout). Run exactly one beat process (README, "Background work"); a second one
# would still not double any effect: the sweep holds a Redis lock, every effect is a
# conditional update or carries a dedupe key.
app.conf.beat_schedule = {
    # Every minute: expire overdue proposals, apply moves whose start date has come, send the
    # 72 h / 24 h deadline reminders, then deliver the outbox.
    "sweep-deadlines": {
        "task": "assignments.tasks.sweep_deadlines",
        "schedule": crontab(),
        # If no worker took it within the minute, the next one will do: do not pile them up.
        "options": {"expires": 55},
    },
    # Every minute: deliver outbox events ("move took effect"), in case a sweep was skipped.
    "dispatch-outbox": {
        "task": "outbox.tasks.dispatch_outbox",
        "schedule": crontab(),
        "options": {"expires": 55},
    },
    # Every minute: webhook retries that are due, and deliveries whose queued task was lost.
    "deliver-due-webhooks": {
        "task": "webhooks.tasks.deliver_due_webhooks",
        "schedule": crontab(),
        "options": {"expires": 55},
    },
    # Every five minutes: queue again any email whose queue message was lost.
    "requeue-pending-emails": {
        "task": "notifications.tasks.requeue_pending_emails",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 290},
    },
    # Every hour: remind people whose data-use consent lapses within 30 days (once per opt-in).
    "remind-before-data-use-lapse": {
        "task": "datause.tasks.remind_before_lapse",
        "schedule": crontab(minute=17),
        "options": {"expires": 3500},
    },
    # Every ten minutes: tell collecting systems (consent.changed) of data-use opt-ins that lapsed.
    "announce-data-use-lapses": {
        "task": "datause.tasks.announce_lapses",
        "schedule": crontab(minute="*/10"),
        "options": {"expires": 590},
    },
    # Every day at PORTAL_HR_DIGEST_HOUR:00 UTC: the HR digest of pending, decided, expiring.
    "hr-digest": {
        "task": "assignments.tasks.send_hr_digest",
        "schedule": crontab(minute=0, hour=int(os.environ.get("PORTAL_HR_DIGEST_HOUR", "7"))),
    },
    # Every hour at :05: a signed checkpoint of the consent ledger's head, written outside the
    # database (PORTAL_LEDGER_CHECKPOINT_DIR), so a rewrite by the database owner shows.
    "checkpoint-ledger": {
        "task": "consent.tasks.write_ledger_checkpoint",
        "schedule": crontab(minute=5),
        "options": {"expires": 3000},
    },
    # Every hour at :17: delete API idempotency records older than the retention window
    # (PORTAL_IDEMPOTENCY_RETENTION_HOURS, 24 h by default).
    "prune-idempotency-records": {
        "task": "api.tasks.prune_idempotency",
        "schedule": crontab(minute=17),
        "options": {"expires": 3000},
    },
}


@signals.before_task_publish.connect
def _carry_the_request_id(headers=None, **kwargs):
    """A task queued while answering a request logs with that request's id."""
    from portal.logging import request_id_var

    if headers is not None and request_id_var.get():
        headers.setdefault("portal_request_id", request_id_var.get())


@signals.task_prerun.connect
def _adopt_the_request_id(task=None, **kwargs):
    from portal.logging import request_id_var

    request_id_var.set(getattr(task.request, "portal_request_id", None) or "")


@signals.task_postrun.connect
def _count_the_outcome(task=None, state=None, **kwargs):
    from portal.metrics import record_task_outcome

    if task is not None:
        record_task_outcome(task.name, state)


def enqueue_after_commit(task, *args, **kwargs):
    """Queue `task` once the surrounding transaction commits; a rollback queues nothing.

    `robust`: the change is already committed when this runs, so a broker hiccup is logged
    rather than turned into an error page; the periodic sweeps pick the work up instead.
    """
    transaction.on_commit(lambda: task.delay(*args, **kwargs), robust=True)


@contextlib.contextmanager
def single_instance(name: str, *, timeout: int = 300):
    """Yield True if this process holds the named lock, False if another one does.

    On Redis it is a lock with an expiry (a crashed holder frees it after `timeout`), so two
    beat processes, or a beat and an operator's manual run, never do the same sweep at the
    same moment. On the embedded filesystem broker (`make run`: one machine, one worker with
    an embedded beat) there is nothing to coordinate and it always yields True.
    """
    from django.conf import settings

    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        yield True
        return
    import redis

    client = redis.Redis.from_url(url)
    lock = client.lock(f"portal:lock:{name}", timeout=timeout, blocking=False)
    acquired = lock.acquire()
    try:
        yield acquired
    finally:
        if acquired:
            with contextlib.suppress(redis.exceptions.LockError):
                lock.release()
        client.close()
