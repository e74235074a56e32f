"""Background side of the proposal lifecycle: the periodic jobs. Thin, idempotent, and never
the only record of anything: every notice is written by the service that made the change, in
its own transaction (assignments.emails).

Deadlines live in the database. The sweep below, run by beat every minute, is the source of
truth for time: nothing waits on a long ETA or countdown.
"""

import logging

from celery import shared_task
from django.core.exceptions import ValidationError

from assignments import emails, services
from assignments.models import Campaign
from outbox.services import dispatch_pending
from portal.celery import single_instance

logger = logging.getLogger(__name__)

# Expire at most this many proposals per transaction; the sweep loops until none are left.
SWEEP_BATCH = 10_000


@shared_task(acks_late=True)
def sweep_deadlines() -> dict:
    """Expire overdue proposals, apply due moves, send due reminders, deliver the outbox.

    Held under a Redis lock so two beats (or a beat and a manual run) do not sweep at the same
    moment. The lock saves work; it is not what keeps effects single: every step is a
    conditional update or a dedupe-keyed insert, so an overlapping sweep changes nothing.
    """
    with single_instance("sweep-deadlines", timeout=300) as acquired:
        if not acquired:
            logger.info("sweep skipped: another sweep holds the lock")
            return {"skipped": True}
        expired = 0
        while True:
            batch = services.expire_overdue_proposals(limit=SWEEP_BATCH)
            expired += len(batch)
            if len(batch) < SWEEP_BATCH:
                break
        moves = services.apply_due_moves()
        reminders = services.send_due_reminders()
        dispatched = dispatch_pending()
    return {
        "expired": expired,
        "moves": len(moves),
        "reminders": len(reminders),
        "dispatched": dispatched,
    }


@shared_task(acks_late=True)
def send_hr_digest() -> int:
    return len(emails.hr_digest())


@shared_task(acks_late=True)
def send_campaign(campaign_id: int) -> int:
    """Send a queued campaign (HR pressed "Send"): every proposal and notice, in one transaction.

    Safe to run twice: the service claims the campaign with a conditional UPDATE, so a second
    delivery finds it sent and does nothing. A killed worker rolls the whole send back and the
    redelivered message starts it again. A refused send (per-person reasons) is recorded on
    the campaign for HR, not retried.
    """
    campaign = (
        Campaign.objects.select_related("sent_by")
        .filter(pk=campaign_id, state=Campaign.State.QUEUED)
        .first()
    )
    if campaign is None:  # gone, already sent, or sent back to draft
        return 0
    try:
        proposals = services.send_campaign(campaign=campaign, actor=campaign.sent_by)
    except ValidationError:
        logger.info("campaign %s not sent: its reasons are on the campaign page", campaign_id)
        return 0
    return len(proposals or [])
