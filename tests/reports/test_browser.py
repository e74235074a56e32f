"""The dashboards in real headless Chromium, on the demo organisation `make run` shows: HR's
overview, a campaign with its charts (a suppressed cell among them), a team filter, the named
people (logged), "did saying no cost anything?", a manager's own dashboard, and the page with
JavaScript off. Each page is checked with axe-core at 1280 px and 375 px (no serious or
critical violation) and screenshotted to tests/screenshots/."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from consent.models import AccessLogEntry
from people.models import Employee, Team
from tests.reports.conftest import add_people
from tests.web.test_browser import check_page

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(settings):
    settings.DEBUG = True  # seed_demo refuses to run without it
    call_command("seed_demo", stdout=StringIO())
    settings.DEBUG = False
    return {e.email: e for e in Employee.objects.select_related("user")}


def test_hr_reads_the_dashboards_and_a_manager_reads_their_own(
    live_server, sign_in, screenshot_dir, demo
):
    page = sign_in(demo["hr@demo.test"].user)
    page.goto(f"{live_server.url}/hr/dashboards/")
    expect(page.get_by_role("heading", name="Consent dashboards")).to_be_visible()
    check_page(page, screenshot_dir, "80-dashboards-overview")

    page.get_by_role("link", name="Internal AI assistants").first.click()
    expect(page.get_by_role("heading", name=re.compile("Dashboard: Internal AI"))).to_be_visible()
    expect(page.get_by_role("heading", name="Decisions over time")).to_be_visible()
    # Two demo teams are smaller than five: their figures read "<5" or are combined.
    expect(page.get_by_text("fewer than 5").first).to_be_attached()
    expect(page.get_by_role("heading", name="By team")).to_be_visible()
    check_page(page, screenshot_dir, "81-dashboard-campaign")

    page.get_by_role("link", name="Data Platform").first.click()
    expect(page.get_by_text("Showing one group: Data Platform.")).to_be_visible()
    check_page(page, screenshot_dir, "82-dashboard-one-team")

    page.get_by_role("link", name="Show the whole campaign").click()
    page.get_by_role("link", name="Look up named people (logged)").click()
    check_page(page, screenshot_dir, "83-named-people-why")
    page.get_by_label("Status").select_option("opted_out")
    page.get_by_label("Why do you need to see names?").fill("Following up placement requests")
    page.get_by_role("button", name="Show names").click()
    expect(page.get_by_role("table")).to_be_visible()
    check_page(page, screenshot_dir, "84-named-people")
    assert AccessLogEntry.objects.filter(purpose="Following up placement requests").exists()

    page.goto(f"{live_server.url}/hr/dashboards/no-adverse-consequence/")
    expect(page.get_by_role("heading", name="Did saying no cost anything?")).to_be_visible()
    check_page(page, screenshot_dir, "85-no-adverse-consequence")

    boss = sign_in(demo["manager@demo.test"].user)
    boss.goto(f"{live_server.url}/team/dashboards/")
    expect(boss.get_by_text("Campaigns that reached your direct reports")).to_be_visible()
    check_page(boss, screenshot_dir, "86-team-dashboards")


def test_the_charts_draw_a_campaign_large_enough_to_show(
    live_server, sign_in, screenshot_dir, hr_user, campaign, destination
):
    teams = [Team.objects.create(name=f"Team {n}", slug=f"team-{n}") for n in range(3)]
    titles = ["Software Engineer", "Senior Engineer", "Staff Engineer"]
    outcomes = ("pending", "opted_in", "effective", "opted_out", "expired", "withdrawn")
    rows = [
        (team, title, outcome, 6)
        for team, title in zip(teams, titles, strict=True)
        for outcome in outcomes
    ]
    add_people(campaign, destination, rows)
    page = sign_in(hr_user)
    page.goto(f"{live_server.url}/hr/dashboards/campaigns/{campaign.pk}/")
    funnel = page.locator('[data-chart="funnel"] canvas')
    expect(funnel).to_be_visible()  # Chart.js drew it, from the vendored copy in static/
    expect(funnel).to_have_attribute("role", "img")
    expect(page.locator('[data-chart="timeline"] canvas')).to_be_visible()
    assert page.evaluate("window.Chart.version") == "4.6.1"
    check_page(page, screenshot_dir, "88-dashboard-charts")


def test_the_dashboard_works_without_javascript(live_server, sign_in, screenshot_dir, demo):
    page = sign_in(demo["hr@demo.test"].user, java_script_enabled=False)
    page.goto(f"{live_server.url}/hr/dashboards/")
    page.get_by_role("link", name="Internal AI assistants").first.click()
    expect(page.get_by_role("table", name="From invited to moved")).to_be_visible()
    expect(page.locator('[data-chart="funnel"]')).to_be_hidden()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=screenshot_dir / "87-dashboard-no-javascript.png", full_page=True)
