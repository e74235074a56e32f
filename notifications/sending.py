"""Sending one notification's email, exactly once in effect.

The row lock is the claim. The email goes out while this transaction holds the notification
row FOR UPDATE, and the "sent" mark commits right after the SMTP server accepts it:

- a second delivery of the same task (Redis visibility timeout, a retry, the re-queue sweep)
  either finds the row locked and leaves it to the holder, or finds it sent and does nothing;
- a worker killed before the server accepted the message loses its connection, PostgreSQL
  rolls the transaction back, and the redelivered task sends it;
- the one window left is between the server's "250 OK" and our COMMIT (well under a
  millisecond on a healthy database). A crash exactly there sends the email again on
  redelivery. We choose a duplicate over a lost message, and the Message-ID is derived from
  the dedupe key, so mail clients collapse the copy.
"""

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notifications.models import Notification
from notifications.rendering import build_message

logger = logging.getLogger(__name__)

State = Notification.EmailState


@dataclass(frozen=True)
class Outcome:
    status: str  # "sent", "already", "busy", "gone", "retry", "failed", "no_address"
    retry_in: int | None = None
    error: Exception | None = None


def _permanent(exc: Exception) -> bool:
    """A 5xx answer (bad address, policy refusal) will not change on retry; 4xx and network
    errors might."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _ in exc.recipients.values())
    code = getattr(exc, "smtp_code", None)
    return isinstance(code, int) and 500 <= code < 600


def backoff_seconds(attempts: int) -> int:
    """Exponential, capped at 60 s: no task may wait on a long countdown (see README)."""
    base = settings.PORTAL_EMAIL_RETRY_BASE_SECONDS
    return min(base * 2 ** max(attempts - 1, 0), 60)


def send_notification(notification_id: int, *, now: datetime | None = None) -> Outcome:
    with transaction.atomic():
        n = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient")
            .filter(pk=notification_id)
            .first()
        )
        if n is None:
            exists = Notification.objects.filter(pk=notification_id).exists()
            # Locked: another worker is sending it right now. If that worker dies, its own
            # message comes back and finishes the job, so this copy can stop here.
            return Outcome("busy" if exists else "gone")
        if n.email_state != State.PENDING:
            return Outcome("already")
        now = now or timezone.now()
        address = n.recipient.email if n.recipient.is_active else ""
        if not address:
            n.email_state = State.FAILED
            n.email_error = "recipient has no active email address"
            n.save(update_fields=["email_state", "email_error"])
            logger.error("notification %s: %s", n.pk, n.email_error)
            return Outcome("no_address")
        n.email_attempts += 1
        n.email_last_attempt_at = now
        try:
            build_message(n, address).send()
        except (smtplib.SMTPException, OSError) as exc:
            n.email_error = f"{exc.__class__.__name__}: {exc}"[:2000]
            if _permanent(exc) or n.email_attempts > settings.PORTAL_EMAIL_MAX_RETRIES:
                # Give up loudly: an error in the log, and a "failed" row the admin can filter
                # on and send again (NotificationAdmin action).
                n.email_state = State.FAILED
                n.save(
                    update_fields=[
                        "email_state",
                        "email_attempts",
                        "email_last_attempt_at",
                        "email_error",
                    ]
                )
                logger.error(
                    "giving up on email for notification %s (%s) after %s attempt(s): %s",
                    n.pk,
                    n.dedupe_key,
                    n.email_attempts,
                    n.email_error,
                )
                return Outcome("failed", error=exc)
            n.save(update_fields=["email_attempts", "email_last_attempt_at", "email_error"])
            logger.warning(
                "email for notification %s failed (attempt %s), retrying: %s",
                n.pk,
                n.email_attempts,
                n.email_error,
            )
            return Outcome("retry", retry_in=backoff_seconds(n.email_attempts), error=exc)
        n.email_state = State.SENT
        n.email_sent_at = now
        n.email_error = ""
        n.save(
            update_fields=[
                "email_state",
                "email_sent_at",
                "email_attempts",
                "email_last_attempt_at",
                "email_error",
            ]
        )
        return Outcome("sent")
