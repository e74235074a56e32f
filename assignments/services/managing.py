"""The proposer (or the employee's manager, or HR) acts: withdraw a proposal, extend its
deadline. Never a decision: those are the person's own (services.deciding).

Both ask for a reason, in the proposer's words: it is stored on the event, shown on the
person's timeline and sent in their notice (the person is owed an explanation; unlike the
employee's own reasons it is not private). Only the leave path moves a deadline without a
typed reason (`move_deadline(..., reason="leave")`).
"""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from assignments import emails, events, transitions
from assignments.deadlines import extension_errors
from assignments.models import Proposal, ProposalEvent
from assignments.services import placement
from assignments.services._shared import event, lock, when
from people.roles import is_hr
from portal.errors import TransitionError

REASON_MAX_CHARS = 1000


def _reason(reason: str, *, missing: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": missing})
    if len(reason) > REASON_MAX_CHARS:
        raise ValidationError(
            {"reason": _("Keep the reason under %(max)s characters.") % {"max": REASON_MAX_CHARS}}
        )
    return reason


def ensure_may_withdraw(proposal: Proposal, actor) -> None:
    """A retroactive confirmation asks someone moved without consent to confirm it: only HR,
    who sent it, may take it back (a manager withdrawing it would hide that nobody asked)."""
    if proposal.kind == Proposal.Kind.RETROACTIVE and not (actor is not None and is_hr(actor)):
        raise PermissionDenied(
            _(
                "Only HR can withdraw a retroactive confirmation. Until the person confirms, "
                "they stay listed as having no consent on record."
            )
        )


@transaction.atomic
def withdraw_proposal(
    *,
    proposal: Proposal,
    actor,
    reason: str,
    now: datetime | None = None,
    on_deactivation: bool = False,
) -> Proposal:
    """The proposer (or HR) takes a proposal back before it takes effect, saying why.

    `on_deactivation`: the HRIS deactivated the person (services.deactivation), which ends
    every open proposal about them, a retroactive confirmation included."""
    now = now or timezone.now()
    reason = _reason(
        reason, missing=_("Say why you are withdrawing it; the person is told your reason.")
    )
    proposal = lock(proposal)
    if not on_deactivation:
        ensure_may_withdraw(proposal, actor)
    transitions.check_state("withdraw", proposal)
    proposal.state = transitions.target_state("withdraw", proposal)
    proposal.decided_at = now
    proposal.save(update_fields=["state", "decided_at"])
    event(proposal, ProposalEvent.Kind.WITHDRAWN, actor=actor, at=now, reason=reason)
    placement.reopen_after_offer(proposal)
    emails.proposal_withdrawn(proposal, reason=reason)
    events.proposal_withdrawn(proposal)
    return proposal


def move_deadline(proposal: Proposal, *, new_deadline: datetime, actor, now, **detail):
    """Set a locked pending proposal's new deadline, record why, and tell the person."""
    previous = proposal.response_deadline
    proposal.response_deadline = new_deadline
    proposal.save(update_fields=["response_deadline"])
    extended = event(
        proposal,
        ProposalEvent.Kind.EXTENDED,
        actor=actor,
        at=now,
        previous=previous.isoformat(),
        new=new_deadline.isoformat(),
        **detail,
    )
    emails.deadline_extended(proposal, extended)
    return extended


@transaction.atomic
def extend_deadline(
    *,
    proposal: Proposal,
    actor,
    new_deadline: datetime,
    reason: str,
    now: datetime | None = None,
) -> Proposal:
    """Give the person more time, saying why. Shortening an open window is never allowed."""
    now = now or timezone.now()
    reason = _reason(
        reason, missing=_("Say why you are giving more time; the person is told your reason.")
    )
    proposal = lock(proposal)
    transitions.check_state("extend", proposal)
    if now > proposal.response_deadline:
        raise TransitionError(
            _("The deadline already passed on %(deadline)s; the proposal has expired.")
            % {"deadline": when(proposal.response_deadline)}
        )
    errors = extension_errors(
        current=proposal.response_deadline,
        new=new_deadline,
        start_date=proposal.start_date,
        retroactive=proposal.kind == Proposal.Kind.RETROACTIVE,
        now=now,
    )
    if errors:
        raise ValidationError(errors)
    move_deadline(proposal, new_deadline=new_deadline, actor=actor, now=now, reason=reason)
    return proposal
