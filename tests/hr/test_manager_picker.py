"""The manager picker (campaign audience "by manager"): a search field with suggestions from
an HR-only lookup, not a <select> of every manager; and, without JavaScript, a plain submit
that resolves an email or employee id, or answers with the matches to pick from."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assignments.hr_selectors import MANAGER_SUGGESTIONS
from tests.conftest import make_person

pytestmark = pytest.mark.django_db

SUGGESTIONS = "/hr/managers/suggestions/"


@pytest.fixture
def morgans(platform, payments):
    """A second manager called Morgan (with two reports), and a Morgan who manages nobody."""
    other = make_person("morgan.b@example.test", "Morgan Boss", payments, external_id="E-MB")
    for n in range(2):
        make_person(f"mb{n}@example.test", f"Report {n}", payments, manager=other)
    make_person("morgana@example.test", "Morgana Nobody", platform)
    return other


def audience_url(campaign):
    return f"/hr/campaigns/{campaign.pk}/audience/"


def post_manager(hr_client, campaign, typed, pick=""):
    return hr_client.post(
        audience_url(campaign),
        {"source": "manager", "manager-manager": typed, "manager-pick": pick},
    )


def test_the_audience_page_has_a_search_field_not_a_list_of_every_manager(
    hr_client, campaign, manager, employee, morgans
):
    html = hr_client.get(audience_url(campaign)).content.decode()
    assert '<input type="text" name="manager-manager"' in html
    assert f'hx-get="{SUGGESTIONS}"' in html
    assert "Morgan Manager" not in html and "Morgan Boss" not in html


def test_suggestions_are_managers_matching_a_name_an_email_or_an_employee_id(
    hr_client, manager, employee, morgans
):
    by_name = hr_client.get(SUGGESTIONS, {"q": "morg"}).content.decode()
    assert "Morgan Boss (morgan.b@example.test), 2 direct reports" in by_name
    assert "Morgan Manager (morgan@example.test), 1 direct report" in by_name
    assert "Morgana Nobody" not in by_name  # nobody reports to her
    assert 'name="manager-pick"' in by_name
    by_email = hr_client.get(SUGGESTIONS, {"q": "morgan.b@"}).content.decode()
    assert "Morgan Boss" in by_email and "Morgan Manager" not in by_email
    by_id = hr_client.get(SUGGESTIONS, {"manager-manager": "e-mb"}).content.decode()
    assert "Morgan Boss" in by_id
    short = hr_client.get(SUGGESTIONS, {"q": "m"}).content.decode()
    assert "Type at least 2 characters" in short and "Morgan" not in short
    none = hr_client.get(SUGGESTIONS, {"q": "zzz"}).content.decode()
    assert "No manager with active direct reports matches “zzz”." in none


def test_suggestions_are_capped_and_cost_the_same_for_two_managers_or_twenty(hr_client, platform):
    def managers(n, offset):
        for i in range(offset, offset + n):
            boss = make_person(f"lead{i}@example.test", f"Lead {i:02d}", platform)
            make_person(f"r{i}@example.test", f"Member {i:02d}", platform, manager=boss)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            html = hr_client.get(SUGGESTIONS, {"q": "lead"}).content.decode()
        return len(captured), html

    managers(2, 0)
    few, html = queries()
    assert html.count('type="radio"') == 2
    managers(18, 2)
    many, html = queries()
    assert html.count('type="radio"') == MANAGER_SUGGESTIONS
    assert "type more to narrow it down" in html
    assert few == many


def test_a_picked_suggestion_chooses_that_managers_reports(
    hr_client, campaign, manager, employee, morgans
):
    response = post_manager(hr_client, campaign, "morg", pick=str(morgans.pk))
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert len(campaign.audience) == 2
    assert campaign.audience_label == "Direct reports of Morgan Boss"


@pytest.mark.parametrize("typed", ["morgan.b@example.test", "E-MB", "Morgan Boss"])
def test_without_javascript_an_email_an_id_or_a_unique_name_is_enough(
    hr_client, campaign, manager, employee, morgans, typed
):
    assert post_manager(hr_client, campaign, typed).status_code == 302
    campaign.refresh_from_db()
    assert campaign.audience_label == "Direct reports of Morgan Boss"


def test_without_javascript_several_matches_are_offered_to_pick_and_nothing_is_chosen(
    hr_client, campaign, manager, employee, morgans
):
    response = post_manager(hr_client, campaign, "Morgan")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Several managers match “Morgan”: pick one below." in html
    assert f'name="manager-pick" value="{morgans.pk}"' in html
    assert f'name="manager-pick" value="{manager.pk}"' in html
    campaign.refresh_from_db()
    assert not campaign.audience
    # The person's own choice from the list, sent again: chosen.
    assert post_manager(hr_client, campaign, "Morgan", pick=str(manager.pk)).status_code == 302
    campaign.refresh_from_db()
    assert campaign.audience_label == "Direct reports of Morgan Manager"


def test_someone_who_manages_nobody_cannot_be_chosen_even_by_id(
    hr_client, campaign, manager, employee, morgans, platform
):
    nobody = make_person("nobody@example.test", "Nadia Nobody", platform)
    response = post_manager(hr_client, campaign, "nobody@example.test", pick=str(nobody.pk))
    assert response.status_code == 200
    assert "No manager with active direct reports matches" in response.content.decode()
    campaign.refresh_from_db()
    assert not campaign.audience
