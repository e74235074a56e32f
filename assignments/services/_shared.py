"""What every proposal service does the same way: lock, check, record the event, write the
ledger. Private to the services package."""

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from assignments.models import Proposal, ProposalEvent
from consent.services import append_record
from portal import copying
from portal.errors import TransitionError

PROPOSAL = "proposal"  # the ledger's `about_kind` for proposals (registered in apps.py)


def when(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def lock(proposal: Proposal) -> Proposal:
    """The proposal row, locked for this transaction, with what its notices need joined."""
    return (
        Proposal.objects.select_for_update(of=("self",))
        .select_related(
            "employee", "employee__user", "subject_user", "from_team", "to_team", "campaign"
        )
        .get(pk=proposal.pk)
    )


def ensure_is_subject(proposal: Proposal, actor) -> None:
    # Invariant 4: nobody records a decision on someone else's behalf, whatever their role.
    # The person is the account the proposal was made to (recorded by the database when it
    # was inserted), not whichever account the employee record points at today.
    if actor is None or actor.pk != proposal.subject_user_id:
        raise PermissionDenied(_("Only the person this proposal is about can decide on it."))


def ensure_before_deadline(proposal: Proposal, now: datetime) -> None:
    if now > proposal.response_deadline:
        raise TransitionError(
            _(
                "The response deadline passed on %(deadline)s, so this proposal has expired; "
                "nothing will change for you."
            )
            % {"deadline": when(proposal.response_deadline)}
        )


def event(proposal, kind, actor=None, at=None, **detail) -> ProposalEvent:
    return ProposalEvent.objects.create(
        proposal=proposal, kind=kind, actor=actor, at=at or timezone.now(), detail=detail
    )


def events_for(proposal_ids, kind, *, at, actor_id=None) -> None:
    """One event of `kind` on each proposal, in one statement: a campaign's send and the
    expiry sweep add thousands at once, so on PostgreSQL they are copied in."""
    if copying.available():
        copying.copy_rows(
            ProposalEvent,
            ("proposal_id", "kind", "actor_id", "at", "detail"),
            ((pk, kind, actor_id, at, "{}") for pk in proposal_ids),
        )
        return
    ProposalEvent.objects.bulk_create(
        [ProposalEvent(proposal_id=pk, kind=kind, actor_id=actor_id, at=at) for pk in proposal_ids],
        batch_size=2000,
    )


def ledger(
    proposal: Proposal, *, action, actor, context, terms_sha256=None, private_reason="", now=None
):
    return append_record(
        subject=proposal.subject_user,
        about_kind=PROPOSAL,
        about_id=proposal.pk,
        action=action,
        terms_sha256=terms_sha256 or proposal.terms_sha256,
        terms_version=proposal.terms_version,
        actor=actor,
        context=context,
        private_reason=private_reason,
        recorded_at=now,
    )
