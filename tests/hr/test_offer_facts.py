"""HR's "Offer placement" asks for the same structured facts as a manager's transfer proposal,
and the person reads them on their offer exactly as on any proposal (issue 10)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from assignments.models import PlacementRequest, Proposal
from assignments.services import undraft
from tests.conftest import WEB
from tests.hr.test_placement import moved, offer_form, search  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

FACTS = {
    "grade": "L5",
    "pay_band_change": "up",
    "location": "Hamburg office, two days remote",
    "new_manager": "Sid Search",
    "expected_duration": "Permanent",
    "contact_name": "Harper HR",
    "contact_email": "harper@example.test",
}


@pytest.fixture
def placement_request(moved, employee, search):  # noqa: F811
    undraft(proposal=moved, actor=employee.user, context=WEB, team_preferences=[search])
    return PlacementRequest.objects.get(employee=employee)


def _dates():
    later = timezone.now() + timedelta(days=30)
    return timezone.localdate(later) + timedelta(days=7), later


def test_the_offer_form_asks_for_every_fact_and_names_hr_as_the_contact(
    hr_client, placement_request
):
    page = hr_client.get(f"/hr/placements/{placement_request.pk}/offer/")
    form = page.context["form"]
    for name in FACTS:
        assert name in form.fields
    assert form["contact_name"].initial == "harper@example.test"  # the HR partner's name
    assert form["contact_email"].initial == "harper@example.test"
    html = page.content.decode()
    assert 'name="grade"' in html and 'name="pay_band_change"' in html


def test_the_offer_carries_the_facts_and_the_person_reads_them(
    hr_client,
    placement_request,
    employee,
    search,  # noqa: F811
):
    start, later = _dates()
    response = hr_client.post(
        f"/hr/placements/{placement_request.pk}/offer/",
        {**offer_form(search, start, later), **FACTS},
    )
    assert response.status_code == 302
    offer = Proposal.objects.get(kind=Proposal.Kind.PLACEMENT_OFFER)
    assert {name: getattr(offer, name) for name in FACTS} == FACTS

    person = Client()
    person.force_login(employee.user)
    html = person.get(f"/proposals/{offer.pk}/").content.decode()
    for value in ("L5", "Hamburg office, two days remote", "Sid Search", "Permanent"):
        assert value in html
    assert "harper@example.test" in html


def test_an_offer_without_its_facts_is_refused_field_by_field_and_nothing_is_sent(
    hr_client,
    placement_request,
    search,  # noqa: F811
):
    start, later = _dates()
    post = offer_form(search, start, later)
    for name in ("grade", "pay_band_change", "location"):
        post.pop(name)
    response = hr_client.post(f"/hr/placements/{placement_request.pk}/offer/", post)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"grade", "pay_band_change", "location"} <= set(errors)
    assert not Proposal.objects.filter(kind=Proposal.Kind.PLACEMENT_OFFER).exists()
    placement_request.refresh_from_db()
    assert placement_request.state == PlacementRequest.State.OPEN
