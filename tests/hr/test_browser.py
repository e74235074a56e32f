"""HR in real headless Chromium: a campaign written, its audience chosen, previewed, sent, and
its progress watched live until every notification is out; the queue and leave pages. Each
page is checked with axe-core at 1280 px and 375 px and screenshotted to tests/screenshots/."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from assignments import tasks
from assignments.models import Campaign, Proposal
from assignments.services import apply_move, opt_in, propose_transfer, undraft
from notifications.models import Notification
from notifications.tasks import send_notification_email
from people.models import Team
from tests.conftest import WEB, make_person
from tests.hr.conftest import ROLE
from tests.web.test_browser import check_page

pytestmark = pytest.mark.django_db(transaction=True)


def test_hr_sends_a_campaign_and_watches_every_notification_go_out(
    live_server, sign_in, screenshot_dir, hr_user, platform, ai_team, employee, manager
):
    for n in range(3):
        make_person(f"p{n}@example.test", f"Platform Person {n}", platform, manager=manager)
    page = sign_in(hr_user)
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/hr/$"))  # HR lands on its workspace
    check_page(page, screenshot_dir, "60-hr-workspace")

    page.get_by_role("link", name="New campaign").first.click()
    page.get_by_label("Name:", exact=True).fill("Assistant evaluation drive")
    page.get_by_label("What the campaign is, and why").fill(
        "We staff the evaluation of our internal assistants. Saying no costs nothing."
    )
    page.get_by_label("Applied AI").check()
    page.get_by_label("The work, in plain words").fill(ROLE)
    page.get_by_label("Share of the work that is data labelling (%)").fill("40")
    start = timezone.localdate() + timedelta(days=40)
    page.get_by_label("Start date").fill(start.isoformat())
    page.get_by_label("Accountable owner").fill("Dana Director, VP Engineering")
    page.get_by_label("Assessment:", exact=True).select_option("works_council")
    page.get_by_label("Assessment reference").fill("WC-2026-014")
    check_page(page, screenshot_dir, "61-campaign-form")
    page.get_by_role("button", name="Save draft").click()

    expect(page.get_by_role("heading", name=re.compile("Who Assistant evaluation"))).to_be_visible()
    page.get_by_role("group", name="Everyone in these teams").get_by_label("Platform").check()
    check_page(page, screenshot_dir, "62-campaign-audience")
    page.get_by_role("button", name="Choose these teams").click()

    expect(page.get_by_text("Audience chosen: 5 people.")).to_be_visible()
    expect(page.get_by_text("About 40% of this work is data labelling.")).to_be_visible()
    expect(page.get_by_role("cell", name="Platform", exact=True)).to_be_visible()
    check_page(page, screenshot_dir, "63-campaign-preview")
    page.get_by_role("button", name="Send to 5 people").click()

    campaign = Campaign.objects.get(name="Assistant evaluation drive")
    expect(page.get_by_text("Queued: the proposals are being created")).to_be_visible()
    check_page(page, screenshot_dir, "64-campaign-queued")
    # The worker's turn: the task creates every proposal in one transaction.
    assert tasks.send_campaign(campaign.pk) == 5
    expect(page.get_by_text("5 proposals created.")).to_be_visible()  # htmx polled it in
    expect(page.get_by_text("0 of 5 notifications out.")).to_be_visible()
    check_page(page, screenshot_dir, "65-campaign-sending")
    for notification in Notification.objects.filter(kind="proposal_arrived")[:3]:
        send_notification_email(notification.pk)
    expect(page.get_by_text("3 of 5 notifications out.")).to_be_visible()
    for notification in Notification.objects.filter(email_state="pending"):
        send_notification_email(notification.pk)
    expect(page.get_by_text("Every notification is out.")).to_be_visible()
    check_page(page, screenshot_dir, "66-campaign-sent")
    assert Proposal.objects.filter(campaign=campaign, state="pending").count() == 5

    # Eve reads exactly the words HR previewed.
    eve = sign_in(employee.user)
    proposal = Proposal.objects.get(employee=employee, campaign=campaign)
    eve.goto(f"{live_server.url}/proposals/{proposal.pk}/")
    expect(eve.get_by_text("About 40% of this work is data labelling.")).to_be_visible()


def test_hr_works_the_placement_queue_and_leave(
    live_server, sign_in, screenshot_dir, hr_user, employee, manager, ai_team, platform, deadline
):
    search = Team.objects.create(name="Search", slug="search", headcount_target=5)
    start = timezone.localdate(deadline) + timedelta(days=1)
    moved = propose_transfer(
        employee=employee,
        to_team=ai_team,
        actor=manager.user,
        role_description=ROLE,
        start_date=start,
        response_deadline=deadline,
    )
    opt_in(proposal=moved, actor=employee.user, terms_sha256=moved.terms_sha256, context=WEB)
    apply_move(proposal=moved, now=deadline + timedelta(days=2))
    undraft(proposal=moved, actor=employee.user, context=WEB, team_preferences=[search, platform])

    page = sign_in(hr_user)
    page.goto(f"{live_server.url}/hr/placements/")
    expect(page.get_by_text("Search: 5 open seats")).to_be_visible()
    check_page(page, screenshot_dir, "67-placement-queue")
    page.get_by_role("link", name="Offer placement to Eve Employee").click()
    expect(page.get_by_label("Team offered")).to_have_value(str(search.pk))
    page.get_by_label("The work, in plain words").fill(ROLE)
    # The same structured facts as a transfer proposal (HR is the contact unless changed).
    page.get_by_label("Grade").fill("L4")
    page.get_by_label("No change").check()
    page.get_by_label("Location").fill("Berlin office")
    page.get_by_label("New manager").fill("Sid Search")
    page.get_by_label("Expected duration").fill("Permanent")
    check_page(page, screenshot_dir, "68-offer-placement")
    page.get_by_role("button", name="Send the offer").click()
    expect(page.get_by_text("Placement offer sent to Eve Employee: Search.")).to_be_visible()
    expect(page.get_by_text(re.compile("Offer made: Search"))).to_be_visible()

    page.goto(f"{live_server.url}/hr/leave/")
    page.get_by_label("Email or employee id").fill(manager.email)
    page.get_by_role("button", name="Mark on leave").click()
    expect(page.get_by_text("Morgan Manager is on leave")).to_be_visible()
    check_page(page, screenshot_dir, "69-leave")
    page.get_by_role("button", name="Mark back Morgan Manager").click()
    expect(page.get_by_text("Nobody is on leave.")).to_be_visible()

    # Anyone else is refused.
    stranger = sign_in(manager.user)
    response = stranger.goto(f"{live_server.url}/hr/")
    assert response.status == 403
