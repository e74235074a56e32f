"""The employee decides: opt in, opt out, withdraw consent, undraft. Only the person decides.

Each decision locks the proposal, checks the transition table, appends a ledger record pinned
to the exact terms shown, changes the state, records the event and writes the receipt, all in
one transaction.
"""

from datetime import datetime

from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from assignments import emails, events, terms, transitions
from assignments.models import Proposal, ProposalEvent
from assignments.services import placement
from assignments.services._shared import (
    ensure_before_deadline,
    ensure_is_subject,
    event,
    ledger,
    lock,
    when,
)
from consent.models import ConsentRecord
from consent.services import RequestContext
from people.models import Employee, Team
from portal.errors import TransitionError

State = Proposal.State
Action = ConsentRecord.Action


def _start(proposal: Proposal, action: str, actor, now: datetime) -> Proposal:
    """Lock, check who acts and whether the table allows it now."""
    proposal = lock(proposal)
    ensure_is_subject(proposal, actor)
    transitions.check_state(action, proposal)
    if transitions.TRANSITIONS[action].before_deadline:
        if proposal.kind == Proposal.Kind.RETROACTIVE and now > proposal.response_deadline:
            # Never "nothing changes": the person was moved without being asked, and silence
            # leaves them with no consent on record.
            raise TransitionError(
                _(
                    "The response deadline passed on %(deadline)s without an answer, so you "
                    "are listed as having no consent on record for your move to %(team)s, "
                    "never as agreeing."
                )
                % {"deadline": when(proposal.response_deadline), "team": proposal.to_team.name}
            )
        ensure_before_deadline(proposal, now)
    return proposal


def _decide(
    proposal: Proposal,
    *,
    action,
    transition,
    event_kind,
    actor,
    context,
    now,
    private_reason="",
    terms_sha256=None,
) -> ConsentRecord:
    """The common tail of every decision: ledger record, new state, event, receipt."""
    record = ledger(
        proposal,
        action=action,
        terms_sha256=terms_sha256,
        actor=actor,
        context=context,
        private_reason=private_reason.strip(),
        now=now,
    )
    new_state = transitions.target_state(transition, proposal)
    if new_state is not None:
        proposal.state = new_state
        proposal.decided_at = now
        proposal.save(update_fields=["state", "decided_at"])
    event(proposal, event_kind, actor=actor, at=now)
    emails.decision_receipt(record, proposal)
    events.proposal_decided(record, proposal)
    return record


@transaction.atomic
def opt_in(
    *,
    proposal: Proposal,
    actor,
    terms_sha256: str,
    context: RequestContext,
    now: datetime | None = None,
) -> ConsentRecord:
    """Record the employee's own opt-in to the exact terms they were shown.

    A retroactive confirmation ("stay") takes effect at once: the person is already there.
    """
    now = now or timezone.now()
    proposal = _start(proposal, "opt_in", actor, now)
    if not terms.is_shown_terms(proposal, terms_sha256):
        raise TransitionError(
            _("The terms of this proposal are not the ones you were shown; read them again.")
        )
    if proposal.kind != Proposal.Kind.RETROACTIVE:
        # Lock the person so two opt-ins to different moves cannot both pass this check.
        Employee.objects.select_for_update().filter(pk=proposal.employee_id).first()
        other = (
            Proposal.objects.filter(employee=proposal.employee, state=State.OPTED_IN)
            .exclude(pk=proposal.pk)
            .select_related("to_team")
            .first()
        )
        if other is not None:
            raise TransitionError(
                _(
                    "You have already accepted a move to %(team)s starting %(start)s; withdraw "
                    "that consent first if you prefer this one."
                )
                % {"team": other.to_team.name, "start": formats.date_format(other.start_date)}
            )
    return _decide(
        proposal,
        action=Action.OPT_IN,
        terms_sha256=terms_sha256,  # the document read: the issued one or its translation
        transition="opt_in",
        event_kind=ProposalEvent.Kind.OPTED_IN,
        actor=actor,
        context=context,
        now=now,
    )


@transaction.atomic
def opt_out(
    *,
    proposal: Proposal,
    actor,
    context: RequestContext,
    private_reason: str = "",
    team_preferences: list[Team] | None = None,
    now: datetime | None = None,
) -> ConsentRecord:
    """Decline a pending proposal. One action, free, with an optional private reason.

    For a retroactive confirmation this is the "undraft": it also opens a preferential
    placement request with the person's ranked team preferences.
    """
    now = now or timezone.now()
    proposal = _start(proposal, "opt_out", actor, now)
    record = _decide(
        proposal,
        action=Action.OPT_OUT,
        transition="opt_out",
        event_kind=ProposalEvent.Kind.OPTED_OUT,
        actor=actor,
        context=context,
        now=now,
        private_reason=private_reason,
    )
    if proposal.kind == Proposal.Kind.RETROACTIVE:
        placement.open_placement_request(
            employee=proposal.employee, source_proposal=proposal, team_preferences=team_preferences
        )
    placement.reopen_after_offer(proposal)
    return record


@transaction.atomic
def withdraw_consent(
    *,
    proposal: Proposal,
    actor,
    context: RequestContext,
    private_reason: str = "",
    now: datetime | None = None,
) -> ConsentRecord:
    """Take back an opt-in before the move takes effect. One action; nothing moves."""
    now = now or timezone.now()
    proposal = _start(proposal, "withdraw_consent", actor, now)
    record = _decide(
        proposal,
        action=Action.WITHDRAW,
        transition="withdraw_consent",
        event_kind=ProposalEvent.Kind.CONSENT_WITHDRAWN,
        actor=actor,
        context=context,
        now=now,
        private_reason=private_reason,
    )
    placement.reopen_after_offer(proposal)
    return record


@transaction.atomic
def undraft(
    *,
    proposal: Proposal,
    actor,
    context: RequestContext,
    team_preferences: list[Team],
    private_reason: str = "",
    now: datetime | None = None,
):
    """After a move (or a confirmed retroactive one), ask to leave: preferential placement."""
    now = now or timezone.now()
    proposal = _start(proposal, "undraft", actor, now)
    employee = Employee.objects.select_for_update().get(pk=proposal.employee_id)
    if employee.team_id != proposal.to_team_id:
        raise TransitionError(
            _("You are no longer in %(team)s, so there is nothing to undraft from.")
            % {"team": proposal.to_team.name}
        )
    request = placement.open_placement_request(
        employee=employee, source_proposal=proposal, team_preferences=team_preferences
    )
    _decide(
        proposal,
        action=Action.UNDRAFT,
        transition="undraft",
        event_kind=ProposalEvent.Kind.UNDRAFTED,
        actor=actor,
        context=context,
        now=now,
        private_reason=private_reason,
    )
    return request
