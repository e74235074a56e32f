"""Email delivery tasks. Thin: they take ids and call `notifications.sending`."""

from datetime import datetime, timedelta

from celery import shared_task
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from notifications.models import Notification
from notifications.sending import send_notification

# A pending email untouched for this long lost its queue message (a crash between commit and
# enqueue, a purged queue): the re-queue sweep queues it again. Longer than any backoff.
STALE_AFTER = timedelta(minutes=10)


@shared_task(bind=True, acks_late=True, max_retries=None)
def send_notification_email(self, notification_id: int) -> str:
    outcome = send_notification(notification_id)
    if outcome.status == "retry":
        # The attempt count lives on the row (it survives redelivery), so Celery's own
        # counter is not the limit; `send_notification` gives up and marks the row failed.
        raise self.retry(exc=outcome.error, countdown=outcome.retry_in)
    return outcome.status


@shared_task(acks_late=True)
def queue_emails(notification_ids: list[int]) -> int:
    """Fan out one send task per notification (one message per email: a crash loses one)."""
    for pk in notification_ids:
        send_notification_email.delay(pk)
    return len(notification_ids)


@shared_task(acks_late=True)
def queue_emails_created_at(created_at: str) -> int:
    """Fan out the emails of one bulk batch (the expiry sweep), found by their creation stamp."""
    ids = list(
        Notification.objects.filter(
            email_state=Notification.EmailState.PENDING,
            email_attempts=0,
            created_at=datetime.fromisoformat(created_at),
        ).values_list("pk", flat=True)
    )
    for pk in ids:
        send_notification_email.delay(pk)
    return len(ids)


@shared_task(acks_late=True)
def requeue_pending_emails(limit: int = 5000) -> int:
    """Safety net for emails whose queue message was lost; sending twice is harmless."""
    cutoff = timezone.now() - STALE_AFTER
    ids = list(
        Notification.objects.filter(email_state=Notification.EmailState.PENDING)
        .alias(touched=Coalesce("email_last_attempt_at", "created_at"))
        .filter(Q(touched__lt=cutoff))
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        send_notification_email.delay(pk)
    return len(ids)
