"""End to end in real headless Chromium: every page is screenshotted and checked with axe-core.

Screenshots land in tests/screenshots/ (git-ignored), one at desktop width and one at 375 px.
"""

import re
from datetime import datetime, time, timedelta
from io import StringIO

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from assignments.models import PlacementRequest, Proposal
from assignments.services import apply_move, opt_in, propose_transfer, withdraw_proposal
from consent.models import ConsentRecord
from demo.management.commands.seed_demo import DEMO_PASSWORD
from people.models import Employee
from tests.assignments.helpers import describe
from tests.conftest import WEB

pytestmark = pytest.mark.django_db(transaction=True)

AXE = Axe()
BLOCKING = {"serious", "critical"}
NO_TARGET = "no headcount target set"  # the fixtures' teams have no headcount target


def check_page(page, screenshot_dir, name):
    """Screenshot at desktop and phone width; fail on serious or critical axe violations."""
    problems = []
    for width, suffix in ((1280, ""), (375, "-375")):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=screenshot_dir / f"{name}{suffix}.png", full_page=True)
        results = AXE.run(page)
        problems += [
            f"{width}px {v['id']} ({v['impact']}): {v['help']} -> "
            f"{[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"]
            if v["impact"] in BLOCKING
        ]
        if width == 375:
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name}: page is {overflow}px wider than a 375px screen"
    page.set_viewport_size({"width": 1280, "height": 900})
    assert not problems, f"{name}: " + "; ".join(problems)


@pytest.fixture
def demo(settings):
    """The organisation `make run` shows (seed_demo refuses to run unless DEBUG is on)."""
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    settings.DEBUG = False
    return {e.email: e for e in Employee.objects.select_related("user")}


def sign_in_with_password(page, live_server, email, password=DEMO_PASSWORD):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/inbox/$"))


def test_the_demo_employee_signs_in_and_opts_in_within_three_clicks(
    live_server, page, demo, screenshot_dir
):
    proposal = Proposal.objects.get(
        employee=demo["employee@demo.test"], kind=Proposal.Kind.TRANSFER
    )
    page.goto(f"{live_server.url}/")
    check_page(page, screenshot_dir, "01-home")
    page.get_by_role("link", name="Sign in").last.click()
    check_page(page, screenshot_dir, "02-sign-in")
    sign_in_with_password(page, live_server, "employee@demo.test")

    check_page(page, screenshot_dir, "03-inbox")
    page.get_by_role("link", name="Proposal: join Applied AI Task Force").click()  # click 1
    expect(page.get_by_text("About 40% of this work is data labelling.")).to_be_visible()
    expect(page.get_by_text("Morgan Manager", exact=True)).to_be_visible()
    check_page(page, screenshot_dir, "04-proposal")
    page.keyboard.press("Tab")  # the first stop is the skip link, and it leads to the content
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.get_by_role("button", name="Opt in", exact=True).click()  # click 2
    heading = page.get_by_role("heading", name="Confirm: you want to opt in")
    expect(heading).to_be_focused()  # htmx swapped the step in and moved focus to it
    expect(page).to_have_url(re.compile(rf"/proposals/{proposal.pk}/opt-in/"))
    check_page(page, screenshot_dir, "05-confirm-opt-in")
    page.get_by_role("button", name="Opt in", exact=True).click()  # click 3: decided

    expect(page.get_by_role("heading", name="Receipt: Opted in")).to_be_visible()
    check_page(page, screenshot_dir, "06-receipt")
    # The demo's own history has records too; this one is about Eve's proposal.
    record = ConsentRecord.objects.get(about_kind="proposal", about_id=str(proposal.pk))
    assert record.action == "opt_in" and record.channel == "web"
    assert record.terms_sha256 == proposal.terms_sha256
    assert "Chrome" in record.user_agent
    with page.expect_download() as download:
        page.get_by_role("link", name="Download receipt (JSON)").click()
    assert download.value.suggested_filename == f"consent-receipt-{record.pk}.json"


def test_opting_out_with_a_reason_shows_managers_the_decision_but_never_the_reason(
    live_server, page, demo, sign_in, screenshot_dir
):
    reason = "I was not asked before the memo"
    sign_in_with_password(page, live_server, "sam@demo.test")
    page.get_by_role("link", name="Proposal: join Applied AI Task Force").click()
    page.get_by_role("button", name="Opt out", exact=True).click()
    expect(page.get_by_role("heading", name="Confirm: you want to opt out")).to_be_visible()
    page.get_by_label("Your reason").fill(reason)
    check_page(page, screenshot_dir, "10-confirm-opt-out")
    page.get_by_role("button", name="Opt out", exact=True).click()
    expect(page.get_by_text(reason)).to_be_visible()  # on her own receipt
    check_page(page, screenshot_dir, "11-receipt-opt-out")

    boss = sign_in(demo["manager@demo.test"].user)
    boss.goto(f"{live_server.url}/team/proposals/")
    expect(boss.get_by_role("row", name=re.compile("Sam Colleague"))).to_contain_text("Opted out")
    assert reason not in boss.content()
    check_page(boss, screenshot_dir, "12-team-proposals")
    boss.get_by_role("combobox", name="Status").select_option("opted_out")
    boss.get_by_role("button", name="Filter").click()
    expect(boss.get_by_role("row", name=re.compile("Sam Colleague"))).to_be_visible()
    expect(boss.get_by_role("row", name=re.compile("Eve Employee"))).to_have_count(0)

    boss.get_by_role("link", name="Propose transfer").click()
    check_page(boss, screenshot_dir, "13-propose")
    boss.get_by_role("button", name="Propose transfer").click()  # empty: errors in words
    expect(boss.get_by_text("This field is required.").first).to_be_visible()
    check_page(boss, screenshot_dir, "13-propose-errors")
    boss.get_by_label("Person").select_option(label="Eve Employee")
    boss.get_by_label("Team they would join").select_option(label="Payments")
    boss.get_by_label("Role description").fill("Payments reconciliation; no data labelling.")
    boss.get_by_role("button", name="Propose transfer").click()  # a token description: why not
    expect(boss.get_by_text("at least 80 characters").first).to_be_visible()
    boss.get_by_label("Role description").fill(describe("Payments reconciliation; no labelling."))
    boss.get_by_label("Grade").fill("L4")
    boss.get_by_label("No change").check()
    boss.get_by_label("Location").fill("Berlin office")
    boss.get_by_label("New manager").fill("Pat Payments")
    boss.get_by_label("Expected duration").fill("Permanent")
    expect(boss.get_by_label("Contact for questions")).to_have_value("Morgan Manager")
    boss.get_by_role("button", name="Propose transfer").click()
    expect(boss.get_by_text("Proposal sent to Eve Employee")).to_be_visible()
    made = Proposal.objects.get(employee=demo["employee@demo.test"], to_team__slug="payments")

    boss.goto(f"{live_server.url}/team/proposals/{made.pk}/extend/")
    check_page(boss, screenshot_dir, "14-extend")
    boss.goto(f"{live_server.url}/team/proposals/{made.pk}/withdraw/")
    check_page(boss, screenshot_dir, "15-withdraw")
    boss.get_by_role("button", name="Withdraw proposal").click()  # no reason: asked for one
    expect(boss.get_by_text("This field is required.")).to_be_visible()
    made.refresh_from_db()
    assert made.state == Proposal.State.PENDING
    boss.get_by_label("Reason").fill("Payments has no opening after all.")
    boss.get_by_role("button", name="Withdraw proposal").click()
    made.refresh_from_db()
    assert made.state == Proposal.State.WITHDRAWN
    assert Proposal.objects.get(employee=demo["sam@demo.test"]).state == Proposal.State.OPTED_OUT


def test_withdrawing_consent_then_undrafting_after_a_move(
    live_server,
    employee,
    manager,
    proposal,
    payments,
    ai_team,
    deadline,
    start_date,
    sign_in,
    screenshot_dir,
):
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    eve = sign_in(employee.user)
    eve.goto(f"{live_server.url}/proposals/{proposal.pk}/")
    check_page(eve, screenshot_dir, "20-proposal-opted-in")
    eve.goto(f"{live_server.url}/proposals/{proposal.pk}/withdraw-consent/")
    check_page(eve, screenshot_dir, "20-withdraw-consent")
    eve.get_by_role("button", name="Withdraw consent", exact=True).click()
    expect(eve.get_by_role("heading", name="Receipt: Withdrew consent")).to_be_visible()
    proposal.refresh_from_db()
    assert proposal.state == Proposal.State.OPTED_OUT

    # A second proposal that Eve accepted and that took effect on its start date.
    moved = propose_transfer(
        employee=employee,
        to_team=payments,
        actor=manager.user,
        role_description=describe("Payments."),
        start_date=start_date,
        response_deadline=deadline,
    )
    opt_in(proposal=moved, actor=employee.user, terms_sha256=moved.terms_sha256, context=WEB)
    on_start = timezone.make_aware(datetime.combine(start_date, time(9)))
    assert apply_move(proposal=moved, now=on_start) is not None

    eve.goto(f"{live_server.url}/proposals/{moved.pk}/")
    eve.get_by_role("button", name="Undraft", exact=True).click()
    check_page(eve, screenshot_dir, "21-undraft-form")
    # Back to the previous team comes first; AI-initiative teams are never offered.
    first = eve.get_by_label("First choice")
    options = first.locator("option").all_inner_texts()
    assert options[:2] == ["No preference", f"Back to my previous team: Platform ({NO_TARGET})"]
    assert not any("Applied AI" in option for option in options)
    first.select_option(label=f"Back to my previous team: Platform ({NO_TARGET})")
    eve.get_by_role("button", name="Undraft", exact=True).click()
    expect(eve.get_by_role("heading", name=re.compile("^Receipt"))).to_be_visible()
    request = PlacementRequest.objects.get(employee=employee)
    assert [p.team.name for p in request.preferences.all()] == ["Platform"]


def test_a_retroactive_confirmation_offers_stay_or_undraft(
    live_server, employee, confirmation, payments, sign_in, screenshot_dir
):
    eve = sign_in(employee.user)
    eve.goto(f"{live_server.url}/inbox/")
    eve.get_by_role("link", name="Do you want to stay in Platform?").click()
    expect(eve.get_by_role("button", name="Stay", exact=True)).to_be_visible()
    check_page(eve, screenshot_dir, "30-retroactive")
    eve.get_by_role("button", name="Undraft", exact=True).click()
    eve.get_by_label("First choice").select_option(
        label=f"Back to my previous team: Payments ({NO_TARGET})"
    )
    eve.get_by_role("button", name="Undraft", exact=True).click()
    expect(eve.get_by_role("heading", name=re.compile("^Receipt"))).to_be_visible()
    confirmation.refresh_from_db()
    assert confirmation.state == Proposal.State.OPTED_OUT
    assert PlacementRequest.objects.get().preferences.get().team == payments


def test_the_decision_works_without_javascript(
    live_server,
    employee,
    manager,
    proposal,
    payments,
    deadline,
    start_date,
    sign_in,
    screenshot_dir,
):
    eve = sign_in(employee.user, java_script_enabled=False)
    eve.goto(f"{live_server.url}/proposals/{proposal.pk}/")
    eve.get_by_role("button", name="Opt out", exact=True).click()
    expect(eve).to_have_url(re.compile(rf"/proposals/{proposal.pk}/opt-out/"))
    eve.get_by_role("button", name="Opt out", exact=True).click()
    expect(eve.get_by_role("heading", name="Receipt: Opted out")).to_be_visible()
    assert ConsentRecord.objects.get().action == "opt_out"

    # The manager withdraws a second proposal while Eve is on its confirmation step: the
    # refusal says why, in words.
    other = propose_transfer(
        employee=employee,
        to_team=payments,
        actor=manager.user,
        role_description=describe("Payments."),
        start_date=start_date,
        response_deadline=deadline,
    )
    eve = sign_in(employee.user)  # axe needs JavaScript
    eve.goto(f"{live_server.url}/proposals/{other.pk}/opt-in/")
    withdraw_proposal(proposal=other, actor=manager.user, reason="Plans changed.")
    eve.get_by_role("button", name="Opt in", exact=True).click()
    expect(eve.get_by_role("alert")).to_contain_text("the proposer withdrew it")
    check_page(eve, screenshot_dir, "31-refused")
    assert ConsentRecord.objects.count() == 1


def test_other_peoples_pages_are_404_and_proposing_outside_ones_reports_is_403(
    live_server, employee, manager, outsider, proposal, sign_in, screenshot_dir
):
    stranger = sign_in(outsider.user)
    response = stranger.goto(f"{live_server.url}/proposals/{proposal.pk}/")
    assert response.status == 404
    check_page(stranger, screenshot_dir, "40-not-found")

    boss = sign_in(manager.user)
    boss.goto(f"{live_server.url}/team/propose/")
    # Tamper with the form: put someone who is not Morgan's report into the person list.
    boss.evaluate(
        "id => { const o = document.createElement('option'); o.value = id; o.text = 'Oscar';"
        " document.querySelector('#id_employee').append(o); }",
        str(outsider.pk),
    )
    boss.get_by_label("Person").select_option(label="Oscar")
    boss.get_by_label("Role description").fill("Anything")
    with boss.expect_response(re.compile("/team/propose/$")) as answer:
        boss.get_by_role("button", name="Propose transfer").click()
    assert answer.value.status == 403
    expect(boss.get_by_role("heading", name="Not allowed")).to_be_visible()
    check_page(boss, screenshot_dir, "41-forbidden")
    assert Proposal.objects.count() == 1


def test_account_pages_are_accessible_too(live_server, page, employee, sign_in, screenshot_dir):
    page.goto(f"{live_server.url}/accounts/password/reset/")
    check_page(page, screenshot_dir, "50-password-reset")
    page.get_by_label("Email").fill("eve@example.test")
    page.get_by_role("button", name=re.compile("Reset My Password", re.I)).click()
    check_page(page, screenshot_dir, "51-password-reset-sent")

    eve = sign_in(employee.user)
    eve.goto(f"{live_server.url}/accounts/2fa/")
    check_page(eve, screenshot_dir, "52-two-factor")
    eve.goto(f"{live_server.url}/accounts/2fa/totp/activate/")  # asks for the password first
    check_page(eve, screenshot_dir, "53-reauthenticate")
    eve.get_by_label("Password").fill("pw")
    eve.get_by_role("button", name="Confirm").click()
    expect(eve.get_by_label("Authenticator code")).to_be_visible()
    check_page(eve, screenshot_dir, "54-totp-setup")
    eve.goto(f"{live_server.url}/accounts/logout/")
    check_page(eve, screenshot_dir, "55-sign-out")


# --- Issue 9: consent that does not nudge ----------------------------------------------------

# Everything that gives a button visual weight.
WEIGHT = [
    "fontSize",
    "fontWeight",
    "fontFamily",
    "fontStyle",
    "textDecorationLine",
    "textTransform",
    "letterSpacing",
    "color",
    "backgroundColor",
    "backgroundImage",
    "borderTopWidth",
    "borderRightWidth",
    "borderBottomWidth",
    "borderLeftWidth",
    "borderTopStyle",
    "borderTopColor",
    "borderRightColor",
    "borderBottomColor",
    "borderLeftColor",
    "borderTopLeftRadius",
    "paddingTop",
    "paddingRight",
    "paddingBottom",
    "paddingLeft",
    "boxShadow",
    "opacity",
    "outlineStyle",
]
LOOK = (
    "(el, props) => { const s = getComputedStyle(el); const r = el.getBoundingClientRect();"
    " return {style: Object.fromEntries(props.map(p => [p, s[p]])),"
    " width: r.width, height: r.height, top: r.top}; }"
)


def assert_same_weight(page, yes: str, no: str):
    """The two answers look the same at desktop and phone width, and sit side by side."""
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        a = page.get_by_role("button", name=yes, exact=True).first
        b = page.get_by_role("button", name=no, exact=True).first
        expect(a).to_be_visible()
        expect(b).to_be_visible()
        look_a, look_b = a.evaluate(LOOK, WEIGHT), b.evaluate(LOOK, WEIGHT)
        assert look_a["style"] == look_b["style"], (width, look_a["style"], look_b["style"])
        assert look_a["width"] == look_b["width"] and look_a["height"] == look_b["height"]
        assert look_a["top"] == look_b["top"], f"{width}px: not side by side"
        assert look_a["height"] >= 44  # a comfortable target for both
        # Hovering either changes it the same way.
        a.hover()
        hovered_a = a.evaluate(LOOK, WEIGHT)["style"]
        b.hover()
        hovered_b = b.evaluate(LOOK, WEIGHT)["style"]
        assert hovered_a == hovered_b
    page.set_viewport_size({"width": 1280, "height": 900})


def test_the_two_answers_carry_the_same_visual_weight(
    live_server, employee, proposal, confirmation, sign_in, screenshot_dir
):
    eve = sign_in(employee.user)
    eve.goto(f"{live_server.url}/proposals/{proposal.pk}/")
    assert_same_weight(eve, "Opt in", "Opt out")
    eve.goto(f"{live_server.url}/proposals/{confirmation.pk}/")
    assert_same_weight(eve, "Stay", "Undraft")
    check_page(eve, screenshot_dir, "60-retroactive-equal-answers")


def _above(page, first, second) -> bool:
    """`first` comes before `second` in the document and is drawn above it."""
    return page.evaluate(
        "([a, b]) => !!(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING)"
        " && a.getBoundingClientRect().bottom <= b.getBoundingClientRect().top",
        [first.element_handle(), second.element_handle()],
    )


def test_the_page_informs_before_it_asks(
    live_server, employee, manager, proposal, confirmation, payments, deadline, start_date, sign_in
):
    eve = sign_in(employee.user)
    for pk, yes in ((proposal.pk, "Opt in"), (confirmation.pk, "Stay")):
        eve.goto(f"{live_server.url}/proposals/{pk}/")
        button = eve.get_by_role("button", name=yes, exact=True)
        expect(button).to_have_count(1)
        for heading in ("The facts", "The work, in plain words", re.compile("^If you")):
            assert _above(eve, eve.get_by_role("heading", name=heading), button), (pk, heading)

    # A long page asks again at its very end, and that copy works the same way.
    long = propose_transfer(
        employee=employee,
        to_team=payments,
        actor=manager.user,
        role_description=describe("Reconcile card payments.\n\n" + "Details of the work. " * 80),
        start_date=start_date,
        response_deadline=deadline,
    )
    eve.goto(f"{live_server.url}/proposals/{long.pk}/")
    opt_in_buttons = eve.get_by_role("button", name="Opt in", exact=True)
    expect(opt_in_buttons).to_have_count(2)
    assert _above(eve, eve.get_by_text("Fingerprint of these terms"), opt_in_buttons.last)
    assert _above(eve, eve.get_by_role("heading", name="If you say no"), opt_in_buttons.first)
    eve.get_by_role("button", name="Opt out", exact=True).last.click()
    expect(eve.get_by_role("heading", name="Confirm: you want to opt out")).to_be_focused()


def test_the_timeline_shows_what_happened_with_reasons_in_the_persons_zone(
    live_server, employee, manager, proposal, sign_in, screenshot_dir
):
    from assignments.emails import deadline_reminders
    from assignments.services import extend_deadline

    employee.time_zone = "Europe/Berlin"
    employee.save(update_fields=["time_zone"])
    later = proposal.response_deadline + timedelta(days=2)
    extend_deadline(
        proposal=proposal, actor=manager.user, new_deadline=later, reason="You asked for a week."
    )
    proposal.refresh_from_db()
    deadline_reminders([proposal], {proposal.pk: 72})
    eve = sign_in(employee.user)
    eve.goto(f"{live_server.url}/proposals/{proposal.pk}/")
    timeline = eve.get_by_role("region", name="What happened so far")
    items = timeline.get_by_role("listitem")
    expect(items).to_have_count(3)
    expect(items.nth(0)).to_contain_text("Proposed by Morgan Manager.")
    expect(items.nth(1)).to_contain_text("Morgan Manager extended the deadline (new deadline:")
    expect(items.nth(1)).to_contain_text("Reason given: You asked for a week.")
    expect(items.nth(2)).to_contain_text("Reminder sent, 72 hours before the deadline.")
    expect(timeline).to_contain_text("Times in Europe/Berlin.")
    stamp = items.nth(1).locator("time").get_attribute("datetime")
    assert stamp.endswith(("+01:00", "+02:00"))  # the person's zone, not UTC
    check_page(eve, screenshot_dir, "61-timeline")


def test_after_an_undraft_the_page_shows_the_placement_request(
    live_server, employee, confirmation, payments, sign_in, screenshot_dir
):
    from assignments.services import opt_out

    payments.description = "Card payments and reconciliation."
    payments.headcount_target = 5
    payments.save(update_fields=["description", "headcount_target"])
    eve = sign_in(employee.user)
    eve.goto(f"{live_server.url}/proposals/{confirmation.pk}/undraft/")
    expect(eve.get_by_text("Card payments and reconciliation.")).to_be_visible()
    check_page(eve, screenshot_dir, "62-undraft-with-seats")
    opt_out(proposal=confirmation, actor=employee.user, context=WEB, team_preferences=[payments])
    eve.goto(f"{live_server.url}/proposals/{confirmation.pk}/")
    placement = eve.get_by_role("region", name="Your placement request")
    expect(placement).to_contain_text("Open")
    expect(placement).to_contain_text("What happens next")
    expect(eve.get_by_text("You undrafted.").first).to_be_visible()
    check_page(eve, screenshot_dir, "63-after-undraft")


# --- Issue 9: the German pages -----------------------------------------------------------------


def test_the_proposal_page_reads_german_with_equal_answers_and_switches_back(
    live_server, employee, proposal, confirmation, sign_in, screenshot_dir
):
    """A browser that asks for German gets the whole page in German (the terms too), the two
    answers keep the same weight in their German words, and the footer switcher turns the
    portal back to English for this person."""
    eve = sign_in(employee.user, locale="de-DE")
    eve.goto(f"{live_server.url}/proposals/{proposal.pk}/")
    expect(eve.locator("html")).to_have_attribute("lang", "de")
    expect(eve.get_by_role("heading", name="Vorschlag: Wechsel zu Applied AI")).to_be_visible()
    for heading in ("Die Fakten", "Die Tätigkeit in einfachen Worten", "Wenn Sie ablehnen"):
        expect(eve.get_by_role("heading", name=heading)).to_be_visible()
    expect(eve.get_by_text("Schweigen ist niemals ein Ja.")).to_be_visible()
    body = eve.locator("body").inner_text()
    for english in ("The facts", "If you say no", "Opt in", "Opt out", "Saying no is free"):
        assert english not in body, english
    assert_same_weight(eve, "Zustimmen", "Ablehnen")
    check_page(eve, screenshot_dir, "70-proposal-de")

    eve.goto(f"{live_server.url}/proposals/{confirmation.pk}/")
    assert_same_weight(eve, "Bleiben", "Rückversetzung beantragen")
    check_page(eve, screenshot_dir, "71-retroactive-de")

    eve.get_by_label("Sprache").select_option("en")
    eve.get_by_role("button", name="Sprache ändern").click()
    expect(eve).to_have_url(re.compile(rf"/proposals/{confirmation.pk}/$"))
    expect(eve.get_by_role("button", name="Stay", exact=True)).to_be_visible()
    employee.refresh_from_db()
    assert employee.language == "en"  # her own setting now wins over her browser's German
