"""The proposal state machine as one table, asked by the services and by the pages alike.

    pending  -> opted_in -> effective        (employee opts in; the move applies on start date)
    pending  -> opted_out                    (employee opts out)
    opted_in -> opted_out                    (employee withdraws consent before the move)
    pending  -> expired                      (deadline passed in silence: never consent)
    pending | opted_in -> withdrawn          (proposer withdraws)
    effective -> effective + placement       (employee undrafts after the move)

Terminal states are final. A retroactive confirmation's "stay" is an opt-in that goes straight
to `effective` (the person is already there); its "undraft" is an opt-out that opens a
preferential placement request.
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assignments.models import Proposal
from portal.errors import TransitionError

State = Proposal.State
Kind = Proposal.Kind

# Who may take an action: the person it is about, whoever manages the proposal, or the clock.
SUBJECT, MANAGER, SYSTEM = "subject", "manager", "system"


@dataclass(frozen=True)
class Transition:
    allowed_from: tuple[str, ...]
    to: str | None  # None: the state stays (the action records something else)
    by: str
    verb: str  # "You cannot <verb> this proposal: <reason>."
    before_deadline: bool = False  # only while the response window is open
    # A retroactive confirmation names its acts "stay" and "undraft", in refusals too.
    retroactive_verb: str | None = None


TRANSITIONS = {
    # action: allowed from -> new state, by whom, and the verb used when it is refused
    "opt_in": Transition(
        (State.PENDING,),
        State.OPTED_IN,
        SUBJECT,
        gettext_lazy("opt in to"),
        before_deadline=True,
        retroactive_verb=gettext_lazy("choose to stay on"),
    ),
    "opt_out": Transition(
        (State.PENDING,),
        State.OPTED_OUT,
        SUBJECT,
        gettext_lazy("opt out of"),
        before_deadline=True,
        retroactive_verb=gettext_lazy("undraft from"),
    ),
    "withdraw_consent": Transition(
        (State.OPTED_IN,), State.OPTED_OUT, SUBJECT, gettext_lazy("withdraw consent from")
    ),
    "undraft": Transition((State.EFFECTIVE,), None, SUBJECT, gettext_lazy("undraft from")),
    "withdraw": Transition(
        Proposal.OPEN_STATES, State.WITHDRAWN, MANAGER, gettext_lazy("withdraw")
    ),
    "extend": Transition(
        (State.PENDING,), None, MANAGER, gettext_lazy("extend"), before_deadline=True
    ),
    "expire": Transition((State.PENDING,), State.EXPIRED, SYSTEM, gettext_lazy("expire")),
    "apply_move": Transition((State.OPTED_IN,), State.EFFECTIVE, SYSTEM, gettext_lazy("apply")),
}


def target_state(action: str, proposal: Proposal) -> str | None:
    if action == "opt_in" and proposal.kind == Kind.RETROACTIVE:
        return State.EFFECTIVE  # "stay": nothing left to apply
    return TRANSITIONS[action].to


def deadline_passed(proposal: Proposal, now: datetime | None = None) -> bool:
    """Pending, and past its deadline (the sweep may not have expired it yet)."""
    return proposal.state == State.PENDING and (now or timezone.now()) > proposal.response_deadline


def _reason(proposal: Proposal) -> str:
    if proposal.kind == Kind.RETROACTIVE and proposal.state in (State.EFFECTIVE, State.OPTED_OUT):
        return {
            State.EFFECTIVE: _("you already chose to stay"),
            State.OPTED_OUT: _("you already undrafted"),
        }[proposal.state]
    return {
        State.OPTED_IN: _("you already opted in"),
        State.EFFECTIVE: _("the move has already taken effect"),
        State.OPTED_OUT: _("it was already declined"),
        State.EXPIRED: _("its response deadline passed without an answer, so it expired"),
        State.WITHDRAWN: _("the proposer withdrew it"),
        State.PENDING: _("it is still waiting for an answer"),
    }[proposal.state]


def state_allows(action: str, proposal: Proposal) -> bool:
    return proposal.state in TRANSITIONS[action].allowed_from


def check_state(action: str, proposal: Proposal) -> None:
    """Raise a TransitionError in words when the proposal's state does not allow `action`."""
    if not state_allows(action, proposal):
        transition = TRANSITIONS[action]
        verb = transition.verb
        if proposal.kind == Kind.RETROACTIVE and transition.retroactive_verb:
            verb = transition.retroactive_verb
        raise TransitionError(
            _("You cannot %(action)s this proposal: %(reason)s.")
            % {"action": verb, "reason": _reason(proposal)}
        )


def undraft_possible(proposal: Proposal, *, current_team_id, has_open_placement: bool) -> bool:
    """Undraft shows while the move stands (the person is still in that team) and no placement
    request of theirs is already open."""
    return (
        state_allows("undraft", proposal)
        and current_team_id == proposal.to_team_id
        and not has_open_placement
    )


def available_actions(
    proposal: Proposal,
    *,
    by: str = SUBJECT,
    now: datetime | None = None,
    has_open_placement: bool = False,
) -> frozenset[str]:
    """Every action the table lets `by` (SUBJECT or MANAGER) take on this proposal right now:
    what the pages offer."""
    passed = (now or timezone.now()) > proposal.response_deadline
    actions = set()
    for name, transition in TRANSITIONS.items():
        if transition.by != by or not state_allows(name, proposal):
            continue
        if transition.before_deadline and passed:
            continue
        actions.add(name)
    if "undraft" in actions and not undraft_possible(
        proposal, current_team_id=proposal.employee.team_id, has_open_placement=has_open_placement
    ):
        actions.discard("undraft")
    return frozenset(actions)
