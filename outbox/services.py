"""Write outbox events inside a change's transaction; dispatch them from a periodic task."""

import json
import logging
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from outbox.models import OutboxEvent
from portal import copying

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
    if keys_are_new and copying.available():
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
    copying.copy_rows(
        OutboxEvent,
        ("topic", "key", "payload", "created_at", "attempts", "last_error"),
        ((topic, key, dumps(payload), now, 0, "") for topic, key, payload in events),
    )


def _handlers(topic: str):
    return [import_string(path) for path in settings.OUTBOX_HANDLERS.get(topic, [])]


# Events claimed per transaction. A handler with a `many` attribute (a function taking a list
# of events) is called once per batch with its events, so its queries do not grow with the
# number of events (webhooks.tasks.fan_out); any other handler is called once per event.
BATCH = 200


def _handle_together(batch: list[OutboxEvent]) -> None:
    by_path: dict[str, list[OutboxEvent]] = {}
    for event in batch:
        for path in settings.OUTBOX_HANDLERS.get(event.topic, []):
            by_path.setdefault(path, []).append(event)
    for path, events in by_path.items():
        handler = import_string(path)
        many = getattr(handler, "many", None)
        if many is not None:
            many(events)
        else:
            for event in events:
                handler(event)


def _handle_alone(event: OutboxEvent, failed: list[int]) -> bool:
    """One event in its own savepoint; a failure is noted on the event, never raised."""
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
        return False
    return True


def dispatch_pending(*, limit: int = 5000, now: datetime | None = None) -> int:
    """Hand undispatched events to their handlers; return how many were dispatched.

    Events are claimed in batches with FOR UPDATE SKIP LOCKED and handled in one transaction
    together with their `dispatched_at` stamp, so two dispatchers never handle one event
    twice, a crash mid-way leaves the batch to the next run, and a handler's database effects
    and the stamp commit together. If anything in a batch fails, its savepoint is rolled back
    and each event is handled alone, so one broken event never holds back the others.
    Handlers must themselves be idempotent (dedupe keys), because an effect outside the
    database (a webhook call) can still happen twice after a crash.
    """
    done = 0
    failed: list[int] = []  # tried once in this run already; the next run tries them again
    while done + len(failed) < limit:
        with transaction.atomic():
            batch = list(
                OutboxEvent.objects.select_for_update(skip_locked=True)
                .filter(dispatched_at__isnull=True)
                .exclude(pk__in=failed)
                .order_by("id")[: min(BATCH, limit - done - len(failed))]
            )
            if not batch:
                break
            try:
                with transaction.atomic():
                    _handle_together(batch)
                handled = [event.pk for event in batch]
            except Exception:
                logger.warning("outbox batch of %s failed; handling each alone", len(batch))
                handled = [event.pk for event in batch if _handle_alone(event, failed)]
            OutboxEvent.objects.filter(pk__in=handled).update(
                dispatched_at=now or timezone.now(), attempts=F("attempts") + 1
            )
            done += len(handled)
    return done
