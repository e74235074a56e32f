"""Time passes (called by the periodic sweep): expire silence, apply due moves, remind.

Silence is never consent: a pending proposal whose deadline passes expires and moves nobody.
A move applies on its start date only while the person's opt-in is still live.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from assignments import emails, events, transitions
from assignments.models import Move, Proposal, ProposalEvent
from assignments.services import placement
from assignments.services._shared import PROPOSAL, event, events_for, lock
from assignments.services.leave import NOT_ON_LEAVE
from consent.models import ConsentRecord
from consent.selectors import latest_record_about
from consent.services import append_system_records
from notifications.models import Notification
from outbox.services import record_event
from people.models import Employee
from webhooks.services import about

State = Proposal.State
Action = ConsentRecord.Action


@transaction.atomic
def expire_overdue_proposals(*, now: datetime | None = None, limit: int = 10_000) -> list[int]:
    """Expire pending proposals whose deadline has passed. Silence is never consent.

    Rows are claimed with FOR UPDATE SKIP LOCKED and updated only while still pending, so a
    decision racing with the sweep either wins outright or finds the proposal expired, and
    two sweeps never expire the same row twice. Returns the ids expired.
    """
    now = now or timezone.now()
    claimed = list(
        # of=self: lock the proposal rows only, not the employees joined for the leave check.
        Proposal.objects.select_for_update(skip_locked=True, of=("self",))
        # Nobody's silence is read while they are on leave: their window is paused.
        .filter(NOT_ON_LEAVE, state__in=transitions.TRANSITIONS["expire"].allowed_from)
        .filter(response_deadline__lt=now)
        .order_by("response_deadline", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not claimed:
        return []
    rows = list(
        Proposal.objects.filter(pk__in=claimed, state=State.PENDING).values(
            "pk",
            "employee__user_id",
            "subject_user_id",  # the ledger's subject: the account it was made to
            "terms_sha256",
            "terms_version",
            "placement_request_id",
            # For the notifications below, so they need no query per row.
            "employee__name",
            "proposed_by_id",
            "to_team__name",
            "start_date",
            "response_deadline",
            "kind",
        )
    )
    ids = [r["pk"] for r in rows]
    Proposal.objects.filter(pk__in=ids, state=State.PENDING).update(
        state=State.EXPIRED, decided_at=now
    )
    append_system_records(
        [
            {
                "subject_id": r["subject_user_id"],
                "about_kind": PROPOSAL,
                "about_id": r["pk"],
                "terms_sha256": r["terms_sha256"],
                "terms_version": r["terms_version"],
            }
            for r in rows
        ],
        action=Action.EXPIRE,
    )
    events_for(ids, ProposalEvent.Kind.EXPIRED, at=now)
    placement.reopen_requests([r["placement_request_id"] for r in rows])
    # Same transaction: the people concerned are told exactly when the expiry commits.
    emails.proposals_expired(rows, now=now)
    events.proposals_expired(rows, now=now)  # other systems, through the outbox
    return ids


@transaction.atomic
def apply_move(*, proposal: Proposal, now: datetime | None = None) -> Move | None:
    """Move the employee on the start date, if and only if their opt-in is still live.

    Returns the Move, or None when there is nothing (any longer) to apply.
    """
    now = now or timezone.now()
    proposal = lock(proposal)
    if not transitions.state_allows("apply_move", proposal):
        return None
    if proposal.start_date > timezone.localdate(now):
        return None
    latest = latest_record_about(PROPOSAL, proposal.pk)
    if latest is None or latest.action != Action.OPT_IN:
        return None
    employee = Employee.objects.select_for_update().get(pk=proposal.employee_id)
    if not employee.is_active:
        return None
    move = Move.objects.create(
        proposal=proposal,
        employee=employee,
        from_team_id=employee.team_id,
        to_team_id=proposal.to_team_id,
        opt_in_record=latest,
        effective_date=proposal.start_date,
        applied_at=now,
    )
    employee.team_id = proposal.to_team_id
    employee.save(update_fields=["team"])
    proposal.state = transitions.target_state("apply_move", proposal)
    proposal.save(update_fields=["state"])
    event(proposal, ProposalEvent.Kind.MOVED, at=now, move_id=move.pk)
    placement.fill_after_move(proposal)
    # Other systems act on this (the notices now, webhooks later), so it goes through the
    # outbox: written in this transaction, it cannot be lost between commit and enqueue, and
    # a rollback leaves nothing to send.
    record_event(
        topic="move.effective",
        key=f"move.effective:{move.pk}",
        payload={
            "move_id": move.pk,
            "proposal_id": proposal.pk,
            "employee_id": employee.pk,
            "from_team_id": move.from_team_id,
            "to_team_id": move.to_team_id,
            "effective_date": move.effective_date.isoformat(),
            "applied_at": now.isoformat(),
            **about(proposal.subject_user_id),  # each receiver is in the person's access log
        },
    )
    return move


def apply_due_moves(*, now: datetime | None = None) -> list[Move]:
    """Apply every accepted move whose start date has come; each in its own transaction."""
    now = now or timezone.now()
    due = Proposal.objects.filter(
        state=State.OPTED_IN, start_date__lte=timezone.localdate(now), employee__is_active=True
    ).values_list("pk", flat=True)
    moves = []
    for pk in list(due):
        move = apply_move(proposal=Proposal(pk=pk), now=now)
        if move is not None:
            moves.append(move)
    return moves


def send_due_reminders(*, now: datetime | None = None) -> list[int]:
    """Remind people whose deadline is near: once per threshold (default 72 h and 24 h).

    Only the tightest threshold that applies is sent, so a window that is already shorter
    than 72 h (after a pause, say) gets the 24 h reminder and not both at once. Nobody on
    leave is reminded: their window is paused. Runs every minute, so it first reads only ids
    and deadlines, and loads full rows just for the reminders not yet written.
    """
    now = now or timezone.now()
    thresholds = sorted(settings.PORTAL_REMINDER_HOURS)
    if not thresholds:
        return []
    window = Proposal.objects.filter(
        NOT_ON_LEAVE,
        state=State.PENDING,
        response_deadline__gt=now,
        response_deadline__lte=now + timedelta(hours=thresholds[-1]),
        employee__is_active=True,
    ).values_list("pk", "response_deadline")
    keys = {}
    for pk, deadline in window:
        hours = next(h for h in thresholds if deadline - now <= timedelta(hours=h))
        keys[emails.reminder_key(pk, hours, deadline)] = (pk, hours)
    if not keys:
        return []
    sent = set(
        Notification.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True)
    )
    todo = dict(v for k, v in keys.items() if k not in sent)
    if not todo:
        return []
    proposals = Proposal.objects.select_related(
        "employee", "from_team", "to_team", "campaign"
    ).filter(pk__in=todo)
    return emails.deadline_reminders(list(proposals), todo)
