"""HR's data-use purpose pages and dashboards in real headless Chromium: the list, a new
purpose's form, a draft's preview, publishing it, and the purpose dashboards, each checked
with axe-core at 1280 px and 375 px (tests.web.test_browser.check_page)."""

import re

import pytest
from playwright.sync_api import expect

from datause.models import DataUsePurpose
from tests.datause.conftest import make_purpose
from tests.web.test_browser import check_page

pytestmark = pytest.mark.django_db(transaction=True)


def test_hr_previews_and_publishes_a_purpose_then_reads_only_counts(
    live_server, sign_in, screenshot_dir, hr_user, manager, employee
):
    make_purpose(manager, slug="keystrokes")
    make_purpose(manager, slug="screen-time", title="Screen time for model training", publish=False)
    page = sign_in(hr_user)

    page.goto(f"{live_server.url}/hr/purposes/")
    expect(page.get_by_role("link", name="Screen time for model training")).to_be_visible()
    check_page(page, screenshot_dir, "80-hr-purposes")

    page.goto(f"{live_server.url}/hr/purposes/new/")
    expect(page.get_by_label("Accountable owner (their work email)")).to_be_visible()
    check_page(page, screenshot_dir, "81-hr-purpose-new")

    page.goto(f"{live_server.url}/hr/purposes/screen-time/")
    expect(page.get_by_text("Preview: what an employee will read")).to_be_visible()
    check_page(page, screenshot_dir, "82-hr-purpose-draft")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text(re.compile(r"Version 1 is published"))).to_be_visible()
    assert DataUsePurpose.objects.get(slug="screen-time").published_at is not None

    page.goto(f"{live_server.url}/hr/dashboards/purposes/")
    check_page(page, screenshot_dir, "83-hr-purpose-dashboards")
    page.goto(f"{live_server.url}/hr/dashboards/purposes/keystrokes/")
    # Two people in scope: fewer than 5, so nothing but the notice is shown.
    expect(page.get_by_text(re.compile("Nobody, not even HR"))).to_be_visible()
    check_page(page, screenshot_dir, "84-hr-purpose-dashboard")
