"""Background side of the proposal lifecycle. Tasks are thin: they take ids, return quietly when
there is nothing (left) to do, and call services; every one is safe to run twice.

Deadlines live in the database. The sweep below, run by beat every minute, is the source of
truth for time: nothing waits on a long ETA or countdown.
"""

import logging

from celery import shared_task

from assignments import services
from notifications import emails
from outbox.services import dispatch_pending
from portal.celery import single_instance

logger = logging.getLogger(__name__)

# Expire at most this many proposals per transaction; the sweep loops until none are left.
SWEEP_BATCH = 10_000


# --- Queued on commit by the services ------------------------------------------------------


@shared_task(acks_late=True)
def notify_proposals_arrived(proposal_ids: list[int]) -> int:
    return len(emails.proposals_arrived(proposal_ids))


@shared_task(acks_late=True)
def notify_decision(record_id: int) -> int:
    """Receipt to the employee, status (never the private reason) to the proposer."""
    return len(emails.decision_receipt(record_id))


@shared_task(acks_late=True)
def notify_placement_requested(request_id: int) -> int:
    return len(emails.placement_requested(request_id))


@shared_task(acks_late=True)
def notify_proposal_withdrawn(proposal_id: int) -> int:
    return len(emails.proposal_withdrawn(proposal_id))


@shared_task(acks_late=True)
def notify_deadline_extended(proposal_id: int, event_id: int) -> int:
    return len(emails.deadline_extended(proposal_id, event_id))


# --- Periodic (portal/celery.py beat_schedule) ---------------------------------------------


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
        reminders = emails.send_due_reminders()
        dispatched = dispatch_pending()
    return {
        "expired": expired,
        "moves": len(moves),
        "reminders": len(reminders),
        "dispatched": dispatched,
    }


@shared_task(acks_late=True)
def dispatch_outbox() -> int:
    return dispatch_pending()


@shared_task(acks_late=True)
def send_hr_digest() -> int:
    return len(emails.hr_digest())
