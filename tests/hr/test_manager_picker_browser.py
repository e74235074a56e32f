"""The manager picker in headless Chromium: suggestions as HR types (htmx), picked with the
keyboard, checked with axe-core; and the same audience chosen with JavaScript switched off."""

import re

import pytest
from playwright.sync_api import expect

from assignments.models import Campaign
from tests.conftest import make_person
from tests.web.test_browser import check_page

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_morgans(payments, manager, employee):
    other = make_person("morgan.b@example.test", "Morgan Boss", payments, external_id="E-MB")
    for n in range(2):
        make_person(f"mb{n}@example.test", f"Report {n}", payments, manager=other)
    return other


def test_hr_finds_a_manager_as_they_type_and_picks_them_with_the_keyboard(
    live_server, sign_in, screenshot_dir, hr_user, campaign, two_morgans
):
    page = sign_in(hr_user)
    page.goto(f"{live_server.url}/hr/campaigns/{campaign.pk}/audience/")
    field = page.get_by_label("Everyone reporting directly to")
    field.press_sequentially("morg", delay=30)
    suggestions = page.get_by_role("group", name=re.compile("2 managers match"))
    expect(suggestions).to_be_visible()
    check_page(page, screenshot_dir, "70-manager-picker")
    # Submitted without picking: the same matches, now with the error that says why.
    page.get_by_role("button", name="Choose their reports").click()
    expect(page.get_by_text("Several managers match “morg”: pick one below.")).to_be_visible()
    check_page(page, screenshot_dir, "71-manager-picker-matches")
    page.get_by_label("Everyone reporting directly to").focus()
    page.keyboard.press("Tab")  # from the field into the suggestions
    page.keyboard.press("Space")
    expect(suggestions.get_by_label(re.compile("Morgan Boss"))).to_be_checked()
    page.get_by_role("button", name="Choose their reports").click()
    expect(page.get_by_text("Audience chosen: 2 people.")).to_be_visible()
    campaign.refresh_from_db()
    assert campaign.audience_label == "Direct reports of Morgan Boss"


def test_without_javascript_hr_submits_a_name_and_picks_from_the_matches(
    live_server, sign_in, screenshot_dir, hr_user, campaign, two_morgans, manager
):
    """Without JavaScript: no suggestions while typing; the submit answers with the matches."""
    page = sign_in(hr_user, java_script_enabled=False)
    page.goto(f"{live_server.url}/hr/campaigns/{campaign.pk}/audience/")
    page.get_by_label("Everyone reporting directly to").fill("Morgan")
    page.get_by_role("button", name="Choose their reports").click()
    expect(page.get_by_text("Several managers match “Morgan”: pick one below.")).to_be_visible()
    # (axe needs JavaScript: the same page is checked in the test above.)
    page.screenshot(path=screenshot_dir / "72-manager-picker-no-js.png", full_page=True)
    page.get_by_label(re.compile("Morgan Manager")).check()
    page.get_by_role("button", name="Choose their reports").click()
    expect(page.get_by_text("Audience chosen: 1 people.")).to_be_visible()
    assert Campaign.objects.get(pk=campaign.pk).audience_label == "Direct reports of Morgan Manager"
