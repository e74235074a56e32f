"""Writing notifications (idempotently, in bulk) and marking them read."""

import json
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from notifications import tasks
from notifications.models import Notification
from portal import copying
from portal.celery import enqueue_after_commit


@dataclass(frozen=True)
class NotificationSpec:
    recipient_id: int
    kind: str
    dedupe_key: str
    context: dict = field(default_factory=dict)
    url: str = ""
    email: bool = True
    created_at: datetime | None = None


def notify_many(specs: list[NotificationSpec], *, keys_are_new: bool = False) -> list[int]:
    """Insert the notifications whose dedupe key is new; queue their emails after commit.

    Running a producer twice (a retried task, two sweeps at once, a redelivered message) adds
    nothing and sends nothing the second time: rows whose key exists are skipped, and the
    INSERT ignores a key a concurrent producer wrote in between. A caller that *knows* its
    keys are new (the expiry sweep: a proposal expires once, under a conditional update in the
    same transaction) passes `keys_are_new` and saves the look-up; a duplicate would then fail
    loudly on the unique index instead of being skipped. Returns the ids inserted (none for
    the COPY path on PostgreSQL, whose emails are found by creation stamp instead).
    """
    if not specs:
        return []
    now = timezone.now()

    def build(s: NotificationSpec) -> Notification:
        return Notification(
            recipient_id=s.recipient_id,
            kind=s.kind,
            dedupe_key=s.dedupe_key,
            context=s.context,
            url=s.url,
            created_at=s.created_at or now,
            email_state=Notification.EmailState.PENDING
            if s.email
            else Notification.EmailState.NONE,
        )

    with transaction.atomic():
        if keys_are_new and copying.available():
            _copy(specs, now)
            # COPY returns no ids: the task picks this batch up by its creation stamp.
            for stamp in {s.created_at or now for s in specs if s.email}:
                enqueue_after_commit(tasks.queue_emails_created_at, stamp.isoformat())
            return []
        if keys_are_new:
            rows = Notification.objects.bulk_create([build(s) for s in specs], batch_size=2000)
            ids = [n.pk for n in rows if n.email_state == Notification.EmailState.PENDING]
        else:
            keys = [s.dedupe_key for s in specs]
            existing = set(
                Notification.objects.filter(dedupe_key__in=keys).values_list(
                    "dedupe_key", flat=True
                )
            )
            fresh = [s for s in specs if s.dedupe_key not in existing]
            if not fresh:
                return []
            Notification.objects.bulk_create(
                [build(s) for s in fresh], batch_size=2000, ignore_conflicts=True
            )
            ids = list(
                Notification.objects.filter(
                    dedupe_key__in=[s.dedupe_key for s in fresh],
                    email_state=Notification.EmailState.PENDING,
                    email_attempts=0,
                ).values_list("pk", flat=True)
            )
        if ids:
            enqueue_after_commit(tasks.queue_emails, ids)
    return ids


_COPY_COLUMNS = (
    "recipient_id",
    "kind",
    "dedupe_key",
    "context",
    "url",
    "created_at",
    "email_state",
    "email_attempts",
    "email_error",
)


def _copy(specs: list[NotificationSpec], now: datetime) -> None:
    """Insert with PostgreSQL COPY, straight from the specs (no model instances): the expiry
    sweep writes thousands of rows at once, and COPY is several times faster than a multi-row
    INSERT with one bound parameter per cell."""
    pending, in_app = Notification.EmailState.PENDING, Notification.EmailState.NONE
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    copying.copy_rows(
        Notification,
        _COPY_COLUMNS,
        (
            (
                s.recipient_id,
                s.kind,
                s.dedupe_key,
                dumps(s.context),
                s.url,
                s.created_at or now,
                pending if s.email else in_app,
                0,
                "",
            )
            for s in specs
        ),
    )


def mark_read(*, user, notification_id: int, now: datetime | None = None) -> int:
    """Mark one of the user's notifications read; returns 1, or 0 if already read/not theirs."""
    return Notification.objects.filter(
        pk=notification_id, recipient=user, read_at__isnull=True
    ).update(read_at=now or timezone.now())


def mark_all_read(*, user, now: datetime | None = None) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=now or timezone.now()
    )
