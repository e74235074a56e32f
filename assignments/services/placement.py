"""Preferential placement requests: opened by an undraft (or a retroactive opt-out), offered by
HR as a placement-offer proposal that needs the person's own opt-in, filled by its move."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from assignments import emails, events
from assignments.models import PlacementPreference, PlacementRequest, Proposal
from portal.errors import TransitionError

OPEN = (PlacementRequest.State.OPEN, PlacementRequest.State.OFFERED)


def has_open_request(employee_id: int) -> bool:
    return PlacementRequest.objects.filter(employee_id=employee_id, state__in=OPEN).exists()


def open_placement_request(
    *, employee, source_proposal: Proposal, team_preferences, note=""
) -> PlacementRequest:
    """Open a preferential request with ranked team preferences. Runs in the caller's
    transaction; HR is told in the same transaction."""
    if has_open_request(employee.pk):
        raise TransitionError(_("You already have an open placement request; HR is working on it."))
    teams = list(team_preferences or [])
    if len({t.pk for t in teams}) != len(teams):
        raise ValidationError({"team_preferences": _("Each team can be ranked only once.")})
    request = PlacementRequest.objects.create(
        employee=employee,
        source_proposal=source_proposal,
        priority=PlacementRequest.Priority.PREFERENTIAL,
        note=note,
    )
    PlacementPreference.objects.bulk_create(
        [PlacementPreference(request=request, team=t, rank=i) for i, t in enumerate(teams, 1)]
    )
    emails.placement_requested(request, preferences=teams, source_team=source_proposal.to_team)
    events.placement_requested(request)
    return request


def mark_offered(placement_request_id: int) -> None:
    PlacementRequest.objects.filter(pk=placement_request_id).update(
        state=PlacementRequest.State.OFFERED
    )


def reopen_after_offer(proposal: Proposal) -> None:
    # A declined, withdrawn or lapsed placement offer leaves the person's request open, with
    # its priority, for the next offer.
    if proposal.placement_request_id:
        reopen_requests([proposal.placement_request_id])


def reopen_requests(request_ids) -> None:
    PlacementRequest.objects.filter(
        pk__in=[pk for pk in request_ids if pk], state=PlacementRequest.State.OFFERED
    ).update(state=PlacementRequest.State.OPEN)


def fill_after_move(proposal: Proposal) -> None:
    if proposal.placement_request_id:
        PlacementRequest.objects.filter(pk=proposal.placement_request_id).update(
            state=PlacementRequest.State.FILLED
        )
