"""Write outbox events inside a change's transaction; dispatch them from a periodic task."""

import json
import logging
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from outbox.models import OutboxEvent

logger = logging.getLogger(__name__)


def record_event(*, topic: str, key: str, payload: dict) -> None:
    """Add an event to the outbox. Must run inside the transaction that makes the change."""
    if not connection.in_atomic_block:
        raise RuntimeError("record_event must run inside the change's transaction.atomic()")
    OutboxEvent.objects.bulk_create(
        [OutboxEvent(topic=topic, key=key, payload=payload)], ignore_conflicts=True
    )


def record_events(events: list[tuple[str, str, dict]], *, keys_are_new: bool = False) -> None:
    """`record_event` for many (topic, key, payload) at once, e.g. a whole campaign.

    A caller that knows its keys are new (a proposal is created once, expires once, under a
    conditional update in the same transaction) passes `keys_are_new`: on PostgreSQL the rows
    are then COPYed in, several times faster than a multi-row INSERT for the expiry sweep;
    a duplicate would fail loudly on the unique key instead of being skipped.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("record_events must run inside the change's transaction.atomic()")
    if keys_are_new and connection.vendor == "postgresql":
        _copy(events)
        return
    OutboxEvent.objects.bulk_create(
        [OutboxEvent(topic=t, key=k, payload=p) for t, k, p in events],
        ignore_conflicts=True,
        batch_size=2000,
    )


def _copy(events) -> None:
    now = timezone.now()
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    with connection.cursor() as cursor:
        columns = "topic, key, payload, created_at, attempts, last_error"
        table = OutboxEvent._meta.db_table
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for topic, key, payload in events:
                copy.write_row((topic, key, dumps(payload), now, 0, ""))


def _handlers(topic: str):
    return [import_string(path) for path in settings.OUTBOX_HANDLERS.get(topic, [])]


def dispatch_pending(*, limit: int = 5000, now: datetime | None = None) -> int:
    """Hand undispatched events to their handlers; return how many were dispatched.

    Each event is claimed with FOR UPDATE SKIP LOCKED and handled in its own transaction
    together with the `dispatched_at` stamp, so two dispatchers never handle one event twice,
    a crash mid-way leaves the event to the next run, and a handler's database effects and the
    stamp commit together. Handlers must themselves be idempotent (dedupe keys), because an
    effect outside the database (a webhook call) can still happen twice after a crash.
    """
    done = 0
    failed: list[int] = []  # tried once in this run already; the next run tries them again
    for _ in range(limit):
        with transaction.atomic():
            event = (
                OutboxEvent.objects.select_for_update(skip_locked=True)
                .filter(dispatched_at__isnull=True)
                .exclude(pk__in=failed)
                .order_by("id")
                .first()
            )
            if event is None:
                break
            try:
                with transaction.atomic():
                    for handler in _handlers(event.topic):
                        handler(event)
            except Exception as exc:
                # Leave it undispatched; the next run tries again, and the admin shows why.
                logger.exception("outbox event %s (%s) failed", event.pk, event.topic)
                event.attempts += 1
                event.last_error = f"{exc.__class__.__name__}: {exc}"[:2000]
                event.save(update_fields=["attempts", "last_error"])
                failed.append(event.pk)
                continue
            event.dispatched_at = now or timezone.now()
            event.attempts += 1
            event.save(update_fields=["dispatched_at", "attempts"])
            done += 1
    return done
