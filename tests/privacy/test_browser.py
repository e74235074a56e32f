"""The privacy centre in real headless Chromium, on the demo organisation `make run` shows, with
what a person accumulates (declined proposals with private reasons, a data-use choice, HR's and
a collector's reads, an earlier export): every section checked with axe-core at 1280 px and
375 px (no serious or critical violation) and screenshotted; then the centre with JavaScript
off, where the download still works."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from api.keys import create_key
from assignments.models import Proposal
from assignments.services import opt_out
from consent.access import record_read
from consent.models import AccessLogEntry
from datause import services as datause
from datause.models import ConsentCheckLog
from datause.selectors import current_purposes
from people.models import Employee
from privacy.models import DataExport
from privacy.services import log_export
from tests.conftest import WEB
from tests.web.test_browser import check_page

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(settings):
    settings.DEBUG = True  # seed_demo refuses to run without it
    call_command("seed_demo", stdout=StringIO())
    settings.DEBUG = False
    people = {e.email: e for e in Employee.objects.select_related("user")}
    person = people["employee@demo.test"]
    hr = people["hr@demo.test"].user
    record_read(viewer=hr, subject=person.user, page="/hr/dashboards/people/", purpose="Audit")
    collector, _secret = create_key(name="AI telemetry collector", scopes=["consent:check"])
    record_read(
        viewer=collector.service_user,
        subject=person.user,
        page="api:consent-check",
        channel=AccessLogEntry.Channel.API,
    )
    # What a person accumulates: a choice, a declined proposal with a private reason, a download.
    purpose = current_purposes().first()
    datause.opt_in(
        purpose=purpose, actor=person.user, terms_sha256=purpose.terms_sha256, context=WEB
    )
    pending = Proposal.objects.filter(employee=person, state=Proposal.State.PENDING).first()
    opt_out(proposal=pending, actor=person.user, context=WEB, private_reason="Not this quarter")
    log_export(person=person.user, ip_address="203.0.113.9")
    ConsentCheckLog.objects.create(  # a day of the collector's checks, as its flusher writes
        api_key=collector,
        subject=person.user,
        purpose_slug=purpose.slug,
        purpose_version=purpose.version,
        day=timezone.localdate(),
        checks=12,
        first_at=timezone.now(),
        last_at=timezone.now(),
    )
    return people


def test_the_person_reads_every_section_of_their_privacy_centre(
    live_server, sign_in, screenshot_dir, demo
):
    person = demo["employee@demo.test"]
    page = sign_in(person.user)
    page.goto(f"{live_server.url}/inbox/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My privacy").click()
    expect(page.get_by_role("heading", name="My privacy", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Use of my work data")).to_be_visible()
    check_page(page, screenshot_dir, "90-privacy-centre")

    sections = page.get_by_role("navigation", name="Privacy centre sections")
    for link, heading, shot in (
        ("Proposals", "My privacy: proposals about me", "91-privacy-proposals"),
        ("Decisions", "My privacy: my decisions", "92-privacy-decisions"),
        ("Receipts", "My privacy: receipts", "93-privacy-receipts"),
        ("Notifications", "My privacy: what I was told", "94-privacy-notifications"),
        ("Access log", "My privacy: who looked at my records", "95-privacy-access-log"),
    ):
        sections.get_by_role("link", name=link, exact=True).click()
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        check_page(page, screenshot_dir, shot)
    page.get_by_role("link", name="Decisions", exact=True).click()
    expect(page.get_by_role("cell", name="Not this quarter")).to_be_visible()
    page.get_by_role("link", name="Access log", exact=True).click()
    expect(
        page.get_by_role("cell", name="API client (key “AI telemetry collector”)")
    ).to_be_visible()
    # HR read the records, and was told of the answers to its proposals: several rows.
    expect(page.get_by_role("cell", name="HR", exact=True).first).to_be_visible()
    expect(page.get_by_role("cell", name="12", exact=True)).to_be_visible()  # checks that day


def test_without_javascript_the_centre_works_and_the_download_is_logged(live_server, sign_in, demo):
    person = demo["employee@demo.test"]
    page = sign_in(person.user, java_script_enabled=False, accept_downloads=True)
    page.goto(f"{live_server.url}/privacy/")
    expect(page.get_by_role("button", name="Allow").first).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download all my data (JSON)").last.click()
    data = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert data["person"]["email"] == person.email
    assert [e["id"] for e in data["exports"]] == list(
        DataExport.objects.filter(person=person.user).values_list("pk", flat=True)
    )
    page.goto(f"{live_server.url}/privacy/access-log/")
    expect(page.get_by_text("You downloaded all your data on")).to_have_count(2)
    expect(page.get_by_text("(from 127.0.0.1)")).to_be_visible()  # this download, the newest
