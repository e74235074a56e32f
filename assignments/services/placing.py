"""HR works the placement queue: an offer is a proposal like any other.

Kept apart from `placement` (the request's own states, which `proposing` and `deciding` call)
because an offer goes through `proposing.propose_transfer`: one module each way, no cycle.
The person must opt in to the offer; declining, withdrawing or letting it lapse reopens the
request with its priority (`placement.reopen_after_offer`), and the move filling it closes
the request (`placement.fill_after_move`).
"""

from datetime import date, datetime

from django.db import transaction
from django.utils.translation import gettext as _

from assignments.models import PlacementRequest, Proposal
from assignments.services.proposing import propose_transfer
from people.models import Team
from portal.errors import TransitionError


@transaction.atomic
def offer_placement(
    *,
    placement_request: PlacementRequest,
    to_team: Team,
    actor,
    role_description: str,
    start_date: date,
    response_deadline: datetime,
    data_labelling_percent: int = 0,
    now: datetime | None = None,
    **facts: str,
) -> Proposal:
    """Offer the person a seat in `to_team`. Nothing moves until they opt in.

    `facts` are the same structured facts a transfer states (`proposing.FACTS`), part of the
    hashed terms the person reads.

    The request is locked so two HR partners cannot make two offers at once; a request with
    an offer waiting for an answer, or already closed, is refused in words.
    """
    request = (
        PlacementRequest.objects.select_for_update()
        .select_related("employee")
        .get(pk=placement_request.pk)
    )
    if request.state == PlacementRequest.State.OFFERED:
        raise TransitionError(
            _("An offer to %(name)s is already waiting for their answer.")
            % {"name": request.employee.name}
        )
    if request.state != PlacementRequest.State.OPEN:
        raise TransitionError(_("This placement request is closed; there is nothing to offer."))
    return propose_transfer(
        employee=request.employee,
        to_team=to_team,
        actor=actor,
        role_description=role_description,
        start_date=start_date,
        response_deadline=response_deadline,
        data_labelling_percent=data_labelling_percent,
        kind=Proposal.Kind.PLACEMENT_OFFER,
        placement_request=request,
        now=now,
        **facts,
    )
