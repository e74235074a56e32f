from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assignments.models import PlacementRequest, Proposal
from assignments.services import (
    apply_due_moves,
    opt_in,
    propose_transfer,
    withdraw_proposal,
)
from consent.models import ConsentRecord
from consent.selectors import private_reason_of
from tests.assignments.helpers import describe
from tests.conftest import WEB

pytestmark = pytest.mark.django_db


def url(name, proposal):
    return reverse(f"assignments:{name}", args=[proposal.pk])


def test_signed_in_people_land_on_their_inbox(eve_client):
    response = eve_client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/inbox/"


def test_anonymous_visitors_are_sent_to_sign_in(client, proposal):
    response = client.get(url("proposal", proposal))
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_the_inbox_lists_pending_proposals_first_with_deadline_and_time_left(
    eve_client, employee, manager, payments, proposal, deadline, start_date
):
    older = propose_transfer(
        employee=employee,
        to_team=payments,
        actor=manager.user,
        role_description=describe("Payments."),
        start_date=start_date,
        response_deadline=deadline,
    )
    withdraw_proposal(proposal=older, actor=manager.user, reason="Plans changed.")
    response = eve_client.get("/inbox/")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.index("Proposal: join Applied AI") < body.index("Proposal: join Payments")
    assert "left)" in body and "Answer by" in body
    assert "Withdrawn by the proposer" in body


def test_the_proposal_page_tells_the_whole_story(eve_client, proposal):
    body = eve_client.get(url("proposal", proposal)).content.decode()
    for text in (
        "Morgan Manager",  # who proposed it
        "Applied AI",  # the team
        "Evaluate models; 40% data labelling.",  # the honest role description
        "About 40% of this work is data labelling.",
        "Nothing is lost: you keep your current team, role, grade and pay.",
        "preferential placement",
        "your manager sees only your decision, never the reason",
        proposal.terms_sha256,
    ):
        assert text in body, text


def test_another_persons_proposal_is_a_404_for_everyone_else(
    client, proposal, manager, outsider, hr_user
):
    for user in (manager.user, outsider.user, hr_user):
        client.force_login(user)
        for name in ("proposal", "opt_in", "opt_out", "withdraw_consent", "undraft"):
            assert client.get(url(name, proposal)).status_code == 404, (user, name)
        response = client.post(url("opt_in", proposal), {"terms_sha256": proposal.terms_sha256})
        assert response.status_code == 404
    assert not ConsentRecord.objects.exists()


def test_opting_in_takes_a_confirmation_step_then_shows_the_receipt(eve_client, proposal):
    confirm = eve_client.get(url("opt_in", proposal))
    assert confirm.status_code == 200
    assert f'value="{proposal.terms_sha256}"' in confirm.content.decode()
    assert not ConsentRecord.objects.exists()  # the GET only asks

    response = eve_client.post(
        url("opt_in", proposal),
        {"terms_sha256": proposal.terms_sha256},
        HTTP_USER_AGENT="test-agent",
        REMOTE_ADDR="198.51.100.4",
    )
    record = ConsentRecord.objects.get()
    assert response.url == reverse("consent:receipt", args=[record.pk])
    assert record.action == "opt_in" and record.channel == "web"
    assert record.ip_address == "198.51.100.4" and record.user_agent == "test-agent"
    assert record.terms_sha256 == proposal.terms_sha256
    proposal.refresh_from_db()
    assert proposal.state == Proposal.State.OPTED_IN


def test_a_double_submitted_decision_records_exactly_one_ledger_row(eve_client, proposal):
    data = {"terms_sha256": proposal.terms_sha256}
    first = eve_client.post(url("opt_in", proposal), data)
    assert "Recorded: you opted in" in eve_client.get(first.url).content.decode()
    second = eve_client.post(url("opt_in", proposal), data)
    assert ConsentRecord.objects.count() == 1
    assert second.status_code == 302 and second.url == first.url  # back to the same receipt
    page = eve_client.get(second.url).content.decode()
    assert "already recorded" in page
    assert "Recorded: you opted in" not in page  # that message was shown after the first one


def test_a_double_submitted_opt_out_records_exactly_one_ledger_row(eve_client, proposal):
    eve_client.post(url("opt_out", proposal), {"private_reason": "no"})
    eve_client.post(url("opt_out", proposal), {"private_reason": "no"})
    assert ConsentRecord.objects.filter(action="opt_out").count() == 1


def test_terms_other_than_those_shown_are_refused_in_words(eve_client, proposal):
    response = eve_client.post(url("opt_in", proposal), {"terms_sha256": "0" * 64})
    assert response.status_code == 409
    assert "not the ones you were shown" in response.content.decode()
    assert not ConsentRecord.objects.exists()


def test_deciding_after_the_deadline_says_why_in_words(eve_client, proposal):
    with time_machine.travel(proposal.response_deadline + timedelta(minutes=5), tick=False):
        page = eve_client.get(url("proposal", proposal)).content.decode()
        assert "has expired" in page
        response = eve_client.post(url("opt_in", proposal), {"terms_sha256": proposal.terms_sha256})
        assert response.status_code == 409
        assert "response deadline passed" in response.content.decode()
        response = eve_client.post(url("opt_out", proposal), {})
        assert response.status_code == 409
    assert not ConsentRecord.objects.exists()


def test_deciding_on_a_withdrawn_proposal_says_why_in_words(eve_client, proposal, manager):
    withdraw_proposal(proposal=proposal, actor=manager.user, reason="Plans changed.")
    assert (
        "proposer withdrew this proposal"
        in eve_client.get(url("proposal", proposal)).content.decode()
    )
    response = eve_client.post(url("opt_in", proposal), {"terms_sha256": proposal.terms_sha256})
    assert response.status_code == 409
    assert "the proposer withdrew it" in response.content.decode()
    assert not ConsentRecord.objects.exists()


def test_opting_out_keeps_the_reason_private_on_the_employees_receipt(eve_client, proposal):
    response = eve_client.post(url("opt_out", proposal), {"private_reason": "Caring duties"})
    record = ConsentRecord.objects.get()
    assert private_reason_of(record, record.subject) == "Caring duties"
    receipt_page = eve_client.get(response.url).content.decode()
    assert "Caring duties" in receipt_page  # the employee sees their own reason
    download = eve_client.get(reverse("consent:receipt_json", args=[record.pk]))
    assert "Caring duties" not in download.content.decode()  # never in a file that travels


def test_every_form_is_protected_against_csrf(employee, proposal):
    client = Client(enforce_csrf_checks=True)
    client.force_login(employee.user)
    for name in ("opt_in", "opt_out", "withdraw_consent", "undraft"):
        assert client.post(url(name, proposal), {}).status_code == 403
    page = client.get(url("opt_in", proposal)).content.decode()
    assert "csrfmiddlewaretoken" in page
    assert not ConsentRecord.objects.exists()


def test_withdrawing_consent_is_one_action_before_the_start(eve_client, proposal, employee):
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    page = eve_client.get(url("proposal", proposal)).content.decode()
    assert "Withdraw consent" in page
    response = eve_client.post(url("withdraw_consent", proposal), {"private_reason": ""})
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.state == Proposal.State.OPTED_OUT
    assert list(ConsentRecord.objects.values_list("action", flat=True)) == ["opt_in", "withdraw"]


def test_undrafting_after_a_move_asks_for_ranked_preferences(
    eve_client, proposal, employee, payments, platform
):
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    with time_machine.travel(proposal.start_date + timedelta(hours=9), tick=False):
        apply_due_moves()
    assert "Undraft" in eve_client.get(url("proposal", proposal)).content.decode()
    form = eve_client.get(url("undraft", proposal))
    assert "First choice" in form.content.decode()
    same_twice = eve_client.post(
        url("undraft", proposal), {"choice_1": payments.pk, "choice_2": payments.pk}
    )
    assert "Each team can be ranked only once." in same_twice.content.decode()
    assert not PlacementRequest.objects.exists()
    response = eve_client.post(
        url("undraft", proposal), {"choice_1": platform.pk, "choice_2": payments.pk}
    )
    assert response.status_code == 302
    request = PlacementRequest.objects.get(employee=employee)
    assert request.priority == PlacementRequest.Priority.PREFERENTIAL
    assert [p.team for p in request.preferences.all()] == [platform, payments]
    assert ConsentRecord.objects.last().action == "undraft"


def test_a_retroactive_confirmation_reads_stay_or_undraft(eve_client, confirmation, payments):
    page = eve_client.get(url("proposal", confirmation)).content.decode()
    assert "Do you want to stay?" in page
    assert ">Stay</button>" in page and ">Undraft</button>" in page
    assert ">Opt in</button>" not in page
    response = eve_client.post(url("undraft", confirmation), {"choice_1": payments.pk})
    assert response.status_code == 302
    confirmation.refresh_from_db()
    assert confirmation.state == Proposal.State.OPTED_OUT
    assert PlacementRequest.objects.get().preferences.get().team == payments


def test_staying_is_recorded_as_an_opt_in(eve_client, confirmation):
    eve_client.post(url("opt_in", confirmation), {"terms_sha256": confirmation.terms_sha256})
    confirmation.refresh_from_db()
    assert confirmation.state == Proposal.State.EFFECTIVE
    assert ConsentRecord.objects.get().action == "opt_in"


def test_receipts_are_private_to_their_subject(eve_client, client, proposal, employee, manager):
    record = opt_in(
        proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB
    )
    response = eve_client.get(reverse("consent:receipt_json", args=[record.pk]))
    assert response["Content-Disposition"].startswith("attachment;")
    receipt = response.json()
    assert receipt["version"] == "KI-CR-v1.1.0"
    assert receipt["consentReceiptID"] == record.hash
    assert receipt["piiPrincipalId"] == "eve@example.test"
    assert receipt["x-consent-portal"]["termsSha256"] == proposal.terms_sha256
    assert receipt["services"][0]["purposes"][0]["consentType"] == "EXPLICIT"
    other = Client()
    other.force_login(manager.user)
    assert other.get(reverse("consent:receipt", args=[record.pk])).status_code == 404
    assert other.get(reverse("consent:receipt_json", args=[record.pk])).status_code == 404


def test_dates_follow_the_persons_time_zone(eve_client, employee, proposal):
    employee.time_zone = "Asia/Tokyo"
    employee.save(update_fields=["time_zone"])
    body = eve_client.get(url("proposal", proposal)).content.decode()
    assert "Asia/Tokyo" in body
    from zoneinfo import ZoneInfo

    local = proposal.response_deadline.astimezone(ZoneInfo("Asia/Tokyo"))
    assert local.strftime("%-I:%M") in body or local.strftime("%H:%M") in body


def test_dates_and_built_in_phrases_follow_the_browsers_language(eve_client, proposal):
    body = eve_client.get(url("proposal", proposal), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    month = [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ][proposal.start_date.month - 1]
    assert f"{proposal.start_date.day}. {month} {proposal.start_date.year}" in body
    assert '<html lang="de"' in body


def test_a_placement_offer_says_so_and_declining_keeps_the_request_open(
    eve_client, confirmation, employee, hr_user, payments, deadline, start_date
):
    from assignments.services import opt_out as decline

    decline(proposal=confirmation, actor=employee.user, context=WEB, team_preferences=[payments])
    request = PlacementRequest.objects.get()
    offer = propose_transfer(
        employee=employee,
        to_team=payments,
        actor=hr_user,
        role_description=describe("Payments team."),
        start_date=start_date,
        response_deadline=deadline,
        kind=Proposal.Kind.PLACEMENT_OFFER,
        placement_request=request,
    )
    assert "Placement offer: join Payments" in eve_client.get("/inbox/").content.decode()
    page = eve_client.get(url("proposal", offer)).content.decode()
    assert "Your placement request stays open" in page
    eve_client.post(url("opt_out", offer), {})
    request.refresh_from_db()
    assert request.state == PlacementRequest.State.OPEN


# --- Issue 9: informs before it asks, a timeline, true words for retroactive moves ---------


def test_the_page_informs_before_it_asks(eve_client, proposal):
    body = eve_client.get(url("proposal", proposal)).content.decode()
    buttons = body.index(">Opt in</button>")
    assert body.index(">Opt out</button>") > buttons
    for heading in ("The facts", "The work, in plain words", "If you say no"):
        assert body.index(heading) < buttons, heading
    assert body.count(">Opt in</button>") == 1  # a short page asks once


def test_a_long_page_repeats_the_two_answers_at_its_end(
    eve_client, employee, manager, payments, deadline, start_date
):
    long = propose_transfer(
        employee=employee,
        to_team=payments,
        actor=manager.user,
        role_description=describe("Reconcile card payments.\n\n" + "Details of the work. " * 80),
        start_date=start_date,
        response_deadline=deadline,
    )
    body = eve_client.get(url("proposal", long)).content.decode()
    assert body.count(">Opt in</button>") == 2 and body.count(">Opt out</button>") == 2
    assert body.rindex(">Opt out</button>") > body.index("Fingerprint of these terms")
    # The confirmation step asks once.
    assert eve_client.get(url("opt_in", long)).content.decode().count(">Opt in</button>") == 1


def test_the_timeline_shows_reasons_and_reminders_in_the_persons_zone(
    eve_client, employee, manager, proposal
):
    from zoneinfo import ZoneInfo

    from django.utils import formats

    from assignments.services import extend_deadline, send_due_reminders

    employee.time_zone = "Asia/Tokyo"
    employee.save(update_fields=["time_zone"])
    later = proposal.response_deadline + timedelta(days=1)
    extend_deadline(
        proposal=proposal, actor=manager.user, new_deadline=later, reason="You were travelling."
    )
    with time_machine.travel(later - timedelta(hours=70), tick=False):
        send_due_reminders()
    with time_machine.travel(later - timedelta(hours=60), tick=False):
        withdraw_proposal(proposal=proposal, actor=manager.user, reason="The team was merged.")
    body = eve_client.get(url("proposal", proposal)).content.decode()
    timeline = body[body.index("What happened so far") :]
    for text in (
        "Proposed by Morgan Manager.",
        "Morgan Manager extended the deadline (new deadline:",
        "Reason given: You were travelling.",
        "Reminder sent, 72 hours before the deadline.",
        "Morgan Manager withdrew the proposal.",
        "Reason given: The team was merged.",
        "Times in Asia/Tokyo.",
    ):
        assert text in timeline, text
    assert "The reason they gave: The team was merged." in body
    tokyo = later.astimezone(ZoneInfo("Asia/Tokyo"))
    assert formats.date_format(tokyo, "DATETIME_FORMAT") in timeline
    order = [
        timeline.index(t)
        for t in ("Proposed by", "extended the deadline", "Reminder sent", "withdrew the")
    ]
    assert order == sorted(order)


def test_the_proposal_page_runs_a_fixed_number_of_queries_however_long_its_history(
    eve_client, manager, proposal
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from assignments.services import extend_deadline

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert eve_client.get(url("proposal", proposal)).status_code == 200
        return len(queries)

    count()  # the first view stores nothing more, but warms the session
    one = count()
    for days in range(1, 6):
        extend_deadline(
            proposal=proposal,
            actor=manager.user,
            new_deadline=proposal.response_deadline + timedelta(days=days),
            reason=f"Extension {days}.",
        )
    assert count() == one


def test_a_retroactive_confirmation_says_when_and_never_that_nothing_changes(
    eve_client, confirmation
):
    from django.utils import formats

    moved = formats.date_format(confirmation.start_date, "DATE_FORMAT")
    page = eve_client.get(url("proposal", confirmation)).content.decode()
    assert f"You were moved to Platform on {moved} without being asked. Stay, or undraft" in page
    inbox = eve_client.get("/inbox/").content.decode()
    assert f"You were moved on {moved} without being asked; stay or undraft." in inbox
    for body in (page, inbox):
        assert "nothing changes" not in body.lower()
    with time_machine.travel(confirmation.response_deadline + timedelta(minutes=5), tick=False):
        page = eve_client.get(url("proposal", confirmation)).content.decode()
        inbox = eve_client.get("/inbox/").content.decode()
        refused = eve_client.post(
            url("opt_in", confirmation), {"terms_sha256": confirmation.terms_sha256}
        ).content.decode()
    for body in (page, inbox, refused):
        assert "no consent on record" in body
        assert "nothing changes" not in body.lower()
        assert "nothing will change" not in body.lower()


def test_after_an_undraft_the_page_says_what_happens_next_and_shows_the_request(
    eve_client, confirmation, payments
):
    response = eve_client.post(url("undraft", confirmation), {"choice_1": payments.pk})
    flash = eve_client.get(response.url).content.decode()
    assert "Recorded: you undrafted." in flash
    page = eve_client.get(url("proposal", confirmation)).content.decode()
    assert "You undrafted." in page  # one name for the act: state, timeline, receipts list
    assert "Undraft on " in page and "Opted out on" not in page
    assert "Your placement request" in page and "What happens next" in page
    assert ">Open<" in page and "Preferential" in page
    assert "<li>Payments</li>" in page
    request = PlacementRequest.objects.get()
    request.state = PlacementRequest.State.OFFERED
    request.save(update_fields=["state"])
    page = eve_client.get(url("proposal", confirmation)).content.decode()
    assert ">Offer made<" in page and "waiting for your answer under My proposals" in page


def test_after_undrafting_a_move_its_page_shows_the_placement_request(
    eve_client, proposal, employee, platform
):
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    with time_machine.travel(proposal.start_date + timedelta(hours=9), tick=False):
        apply_due_moves()
    eve_client.post(url("undraft", proposal), {"choice_1": platform.pk})
    page = eve_client.get(url("proposal", proposal)).content.decode()
    assert "Your placement request" in page and "HR is looking for a place for you" in page
    assert "You undrafted." in page
    assert ">Undraft</button>" not in page  # a request is already open


def test_the_undraft_form_offers_the_previous_team_first_with_seats_and_descriptions(
    eve_client, confirmation, payments, platform, ai_team, outsider
):
    from people.models import Team

    Team.objects.filter(pk=payments.pk).update(
        headcount_target=4, description="Card payments and reconciliation."
    )
    Team.objects.create(name="Archive", slug="archive", description="Records.")
    body = eve_client.get(url("undraft", confirmation)).content.decode()
    options = body[body.index('id="id_choice_1"') : body.index("</select>")]
    assert options.index("Back to my previous team: Payments (3 open seats)") < options.index(
        "Archive (no headcount target set)"
    )
    assert "Applied AI" not in options  # never an AI-initiative team
    assert ">Platform" not in options  # not the team being left
    assert "Card payments and reconciliation." in body and "Records." in body
    assert "3 open seats" in body
    response = eve_client.post(url("undraft", confirmation), {"choice_1": ai_team.pk})
    assert response.status_code == 200 and not PlacementRequest.objects.exists()


def test_one_deadline_reads_the_same_on_every_page(eve_client, client, employee, manager, proposal):
    from django.utils import formats

    for person in (employee, manager):
        person.time_zone = "America/New_York"
        person.save(update_fields=["time_zone"])
    with timezone.override("America/New_York"):
        shown = formats.date_format(
            timezone.localtime(proposal.response_deadline), "DATETIME_FORMAT"
        )
        start = formats.date_format(proposal.start_date, "DATE_FORMAT")
    assert shown in eve_client.get("/inbox/").content.decode()
    assert shown in eve_client.get(url("proposal", proposal)).content.decode()
    boss = Client()
    boss.force_login(manager.user)
    team = boss.get("/team/proposals/").content.decode()
    assert shown in team and start in team
