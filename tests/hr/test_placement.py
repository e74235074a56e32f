"""The placement queue end to end: undraft, queue, offer, opt in, move, request closed; and a
declined offer keeps the request open with its priority."""

from datetime import timedelta

import pytest
import time_machine
from django.template.loader import render_to_string
from django.utils import timezone

from assignments import hr_selectors
from assignments.models import PlacementRequest, Proposal
from assignments.services import (
    TransitionError,
    apply_move,
    offer_placement,
    opt_in,
    opt_out,
    propose_transfer,
    undraft,
)
from consent.ledger import verify_chain
from people.models import Team
from tests.conftest import WEB, make_person
from tests.hr.conftest import ROLE

pytestmark = pytest.mark.django_db


@pytest.fixture
def moved(employee, manager, ai_team, deadline, start_date):
    """Eve opted in to Applied AI and was moved there."""
    proposal = propose_transfer(
        employee=employee,
        to_team=ai_team,
        actor=manager.user,
        role_description=ROLE,
        data_labelling_percent=40,
        start_date=start_date,
        response_deadline=deadline,
    )
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    with time_machine.travel(
        timezone.make_aware(timezone.datetime(*start_date.timetuple()[:3], 9))
    ):
        apply_move(proposal=proposal)
    employee.refresh_from_db()
    return proposal


@pytest.fixture
def search(db):
    team = Team.objects.create(name="Search", slug="search", headcount_target=4)
    make_person("s1@example.test", "Sid Search", team)
    return team


def offer_form(team, start_date, deadline):
    return {
        "to_team": team.pk,
        "role_description": ROLE,
        "data_labelling_percent": 0,
        "start_date": start_date.isoformat(),
        "response_deadline": timezone.localtime(deadline).strftime("%Y-%m-%dT%H:%M"),
        # The structured facts every offer states, as a transfer does (test_offer_facts.py).
        "grade": "L4",
        "pay_band_change": "none",
        "location": "Berlin office",
        "new_manager": "Sid Search",
        "expected_duration": "Permanent",
        "contact_name": "Harper HR",
        "contact_email": "harper@example.test",
    }


def test_undraft_queue_offer_opt_in_move_and_the_request_closes(
    hr_client, client, moved, employee, search, payments, deadline
):
    undraft(proposal=moved, actor=employee.user, context=WEB, team_preferences=[search, payments])
    request = PlacementRequest.objects.get(employee=employee)

    queue = hr_client.get("/hr/placements/").content.decode()
    assert "Eve Employee" in queue
    assert "Search: 3 open seats" in queue  # headcount target 4, one member
    assert "Payments: 0 open seats" in queue

    offer_page = hr_client.get(f"/hr/placements/{request.pk}/offer/")
    assert offer_page.status_code == 200
    assert offer_page.context["form"].initial["to_team"] == search.pk  # first match with a seat
    later = timezone.now() + timedelta(days=30)
    start = timezone.localdate(later) + timedelta(days=7)
    response = hr_client.post(
        f"/hr/placements/{request.pk}/offer/", offer_form(search, start, later)
    )
    assert response.status_code == 302
    offer = Proposal.objects.get(kind=Proposal.Kind.PLACEMENT_OFFER)
    assert (offer.employee, offer.to_team, offer.placement_request) == (employee, search, request)
    request.refresh_from_db()
    assert request.state == PlacementRequest.State.OFFERED
    assert "Offer made: Search" in hr_client.get("/hr/placements/").content.decode()

    # Only Eve decides; HR cannot make a second offer meanwhile.
    with pytest.raises(TransitionError):
        offer_placement(
            placement_request=request,
            to_team=payments,
            actor=offer.proposed_by,
            role_description=ROLE,
            start_date=start,
            response_deadline=later,
        )
    opt_in(proposal=offer, actor=employee.user, terms_sha256=offer.terms_sha256, context=WEB)
    with time_machine.travel(later + timedelta(days=8)):
        move = apply_move(proposal=offer)
    assert move is not None
    employee.refresh_from_db()
    request.refresh_from_db()
    assert employee.team == search
    assert request.state == PlacementRequest.State.FILLED
    assert "Nobody is waiting" in hr_client.get("/hr/placements/").content.decode()
    [status] = hr_selectors.placement_status_for(employee)
    texts = [item.text for item in status.history]
    assert texts[0].startswith("You asked to be placed outside Applied AI")
    assert "HR offered you a seat in Search." in texts
    assert "You joined Search." in texts
    assert texts[-1] == "Your request is closed: placed."
    assert verify_chain().intact
    # The include the employee's pages show.
    html = render_to_string(
        "hr/_placement_status.html",
        {"placement_statuses": hr_selectors.placement_status_for(employee)},
    )
    assert "Status: <strong>Placed</strong>" in html
    assert f'href="/proposals/{offer.pk}/"' in html


def test_declining_an_offer_keeps_the_request_open_with_its_priority(
    moved, employee, search, hr_user
):
    undraft(proposal=moved, actor=employee.user, context=WEB, team_preferences=[search])
    request = PlacementRequest.objects.get(employee=employee)
    later = timezone.now() + timedelta(days=30)
    offer = offer_placement(
        placement_request=request,
        to_team=search,
        actor=hr_user,
        role_description=ROLE,
        start_date=timezone.localdate(later) + timedelta(days=7),
        response_deadline=later,
    )
    opt_out(proposal=offer, actor=employee.user, context=WEB)
    request.refresh_from_db()
    assert request.state == PlacementRequest.State.OPEN
    assert request.priority == PlacementRequest.Priority.PREFERENTIAL
    assert [r.pk for r in hr_selectors.placement_queue()] == [request.pk]
    [status] = hr_selectors.placement_status_for(employee)
    assert "You declined. Your request stayed open with its priority." in [
        item.text for item in status.history
    ]


def test_the_queue_puts_priority_first_then_the_longest_wait(moved, employee, search, hr_user):
    undraft(proposal=moved, actor=employee.user, context=WEB, team_preferences=[search])
    eve = PlacementRequest.objects.get(employee=employee)
    PlacementRequest.objects.filter(pk=eve.pk).update(created_at=timezone.now())
    other = make_person("o@example.test", "Olga Older", search)
    older = PlacementRequest.objects.create(
        employee=other,
        source_proposal=moved,
        priority=PlacementRequest.Priority.PREFERENTIAL,
        created_at=timezone.now() - timedelta(days=5),
    )
    normal = PlacementRequest.objects.create(
        employee=make_person("n@example.test", "Nat Normal", search),
        source_proposal=moved,
        priority=PlacementRequest.Priority.NORMAL,
        created_at=timezone.now() - timedelta(days=50),
    )
    assert [r.pk for r in hr_selectors.placement_queue()] == [older.pk, eve.pk, normal.pk]
