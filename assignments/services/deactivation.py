"""What the workflows do when the HRIS deactivates someone (people.services.deactivate_employee
calls this through settings.PEOPLE_DEACTIVATION_HOOKS, inside its transaction)."""

from datetime import datetime

from assignments.models import Proposal
from assignments.services.managing import withdraw_proposal

REASON = "deactivated by the HRIS"


def withdraw_open_proposals_on_deactivation(
    *, employee, actor, now: datetime | None = None
) -> list[Proposal]:
    """Withdraw every open proposal about the person, with the HRIS's service account as the
    actor. Their decisions, moves and ledger records stay as they are."""
    open_proposals = Proposal.objects.filter(
        employee=employee, state__in=Proposal.OPEN_STATES
    ).order_by("id")
    return [
        withdraw_proposal(
            proposal=proposal, actor=actor, reason=REASON, now=now, on_deactivation=True
        )
        for proposal in open_proposals
    ]
