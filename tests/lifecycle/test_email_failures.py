"""A refusing SMTP server (real, aiosmtpd): retries with backoff, then a loud, visible give-up."""

import logging
import smtplib

import pytest

from notifications.models import Notification
from notifications.sending import backoff_seconds
from notifications.tasks import send_notification_email

pytestmark = pytest.mark.django_db


@pytest.fixture
def arrival(proposal):
    return Notification.objects.get()


def test_backoff_doubles_and_never_waits_longer_than_a_minute(settings):
    settings.PORTAL_EMAIL_RETRY_BASE_SECONDS = 5
    assert [backoff_seconds(n) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]


def test_a_transient_smtp_failure_is_retried_and_then_sent_once(smtp_backend, arrival):
    smtp_backend.reply = "451 4.3.0 try again later"
    for attempt in (1, 2):
        # Called directly, Celery's retry re-raises the error instead of scheduling.
        with pytest.raises(smtplib.SMTPException):
            send_notification_email(arrival.pk)
        arrival.refresh_from_db()
        assert arrival.email_state == Notification.EmailState.PENDING
        assert arrival.email_attempts == attempt
        assert "try again later" in arrival.email_error
    smtp_backend.reply = "250 OK"
    assert send_notification_email(arrival.pk) == "sent"
    assert send_notification_email(arrival.pk) == "already"
    arrival.refresh_from_db()
    assert arrival.email_state == Notification.EmailState.SENT and arrival.email_attempts == 3
    assert sum(smtp_backend.accepted.values()) == 1
    [(to, message)] = smtp_backend.messages
    assert to == ["eve@example.test"]
    assert (
        message["Message-ID"]
        == f"<proposal_arrived.{arrival.context['proposal_id']}@consent-portal>"
    )
    assert message.is_multipart()  # plain text and HTML


def test_after_the_last_retry_the_email_is_marked_failed_and_logged(
    smtp_backend, arrival, settings, caplog, admin_client
):
    settings.PORTAL_EMAIL_MAX_RETRIES = 3
    smtp_backend.reply = "451 4.3.0 mail system busy"
    for _ in range(3):
        with pytest.raises(smtplib.SMTPException):
            send_notification_email(arrival.pk)
    with caplog.at_level(logging.ERROR, logger="notifications.sending"):
        assert send_notification_email(arrival.pk) == "failed"
    assert "giving up on email for notification" in caplog.text
    arrival.refresh_from_db()
    assert arrival.email_state == Notification.EmailState.FAILED
    assert arrival.email_attempts == 4
    assert send_notification_email(arrival.pk) == "already"  # no further attempts
    # Visible to admins, who can send it again once the mail server is fixed.
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "RequireMfa" not in m]
    listing = admin_client.get("/admin/notifications/notification/?email_state__exact=failed")
    assert listing.status_code == 200 and "proposal_arrived" in listing.content.decode()
    admin_client.post(
        "/admin/notifications/notification/",
        {"action": "send_again", "_selected_action": [arrival.pk]},
    )
    arrival.refresh_from_db()
    assert arrival.email_state == Notification.EmailState.PENDING
    smtp_backend.reply = "250 OK"
    assert send_notification_email(arrival.pk) == "sent"


def test_a_permanent_refusal_is_not_retried(smtp_backend, arrival, caplog):
    smtp_backend.reply = "554 5.7.1 rejected by policy"
    with caplog.at_level(logging.ERROR, logger="notifications.sending"):
        assert send_notification_email(arrival.pk) == "failed"
    arrival.refresh_from_db()
    assert arrival.email_state == Notification.EmailState.FAILED
    assert arrival.email_attempts == 1
    assert "rejected by policy" in arrival.email_error
    assert "giving up" in caplog.text
