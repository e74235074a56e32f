from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from assignments.deadlines import minimum_deadline
from assignments.forms import DATETIME_LOCAL
from assignments.models import Proposal, ProposalEvent
from assignments.services import opt_out
from consent.models import ConsentRecord
from consent.selectors import private_reason_of
from tests.assignments.helpers import describe
from tests.conftest import WEB, make_person

pytestmark = pytest.mark.django_db


def local(moment):
    return timezone.localtime(moment).strftime(DATETIME_LOCAL)


def propose_data(employee, team, deadline, **extra):
    return {
        "employee": employee.pk,
        "to_team": team.pk,
        "role_description": describe("Label training data for the assistant; 60% labelling."),
        "data_labelling_percent": 60,
        "start_date": (timezone.localdate(deadline) + timedelta(days=10)).isoformat(),
        "response_deadline": local(deadline),
        "grade": "L4",
        "pay_band_change": "none",
        "location": "Berlin office",
        "new_manager": "Ada Lead",
        "expected_duration": "Permanent",
        "contact_name": "Morgan Manager",
        "contact_email": "morgan@example.test",
        **extra,
    }


def test_a_manager_proposes_a_transfer_for_a_direct_report(
    manager_client, employee, ai_team, deadline
):
    form = manager_client.get("/team/propose/").content.decode()
    assert "at least 5 working days" in form and "Eve Employee" in form
    response = manager_client.post("/team/propose/", propose_data(employee, ai_team, deadline))
    assert response.status_code == 302 and response.url == "/team/proposals/"
    proposal = Proposal.objects.get()
    assert proposal.employee == employee and proposal.state == Proposal.State.PENDING
    assert proposal.data_labelling_percent == 60


def test_proposing_for_someone_outside_ones_reports_is_forbidden_and_writes_nothing(
    manager_client, outsider, ai_team, deadline
):
    response = manager_client.post("/team/propose/", propose_data(outsider, ai_team, deadline))
    assert response.status_code == 403
    assert not Proposal.objects.exists() and not ProposalEvent.objects.exists()


def test_people_without_reports_cannot_use_the_manager_pages(
    client, outsider, employee, ai_team, deadline
):
    client.force_login(outsider.user)
    assert client.get("/team/proposals/").status_code == 403
    assert client.get("/team/propose/").status_code == 403
    response = client.post("/team/propose/", propose_data(employee, ai_team, deadline))
    assert response.status_code == 403
    assert not Proposal.objects.exists()


def test_a_too_short_response_window_is_refused_and_explained(manager_client, employee, ai_team):
    too_soon = timezone.now() + timedelta(days=1)
    response = manager_client.post("/team/propose/", propose_data(employee, ai_team, too_soon))
    body = response.content.decode()
    assert response.status_code == 200
    assert "must leave at least 5 working days to decide" in body
    assert not Proposal.objects.exists()


def test_the_list_shows_decisions_but_never_private_reasons(manager_client, proposal, employee):
    opt_out(
        proposal=proposal,
        actor=employee.user,
        context=WEB,
        private_reason="My manager is the reason",
    )
    body = manager_client.get("/team/proposals/").content.decode()
    assert "Eve Employee" in body and "Opted out" in body
    assert "My manager is the reason" not in body
    record = ConsentRecord.objects.get()
    assert private_reason_of(record, employee.user) == "My manager is the reason"


def test_the_list_filters_by_status(
    manager_client, proposal, employee, manager, payments, deadline, start_date
):
    sam = make_person("sam@example.test", "Sam Second", employee.team, manager=manager)
    from assignments.services import propose_transfer

    propose_transfer(
        employee=sam,
        to_team=payments,
        actor=manager.user,
        role_description=describe("x"),
        start_date=start_date,
        response_deadline=deadline,
    )
    opt_out(proposal=proposal, actor=employee.user, context=WEB)
    pending = manager_client.get("/team/proposals/?state=pending").content.decode()
    assert "Sam Second" in pending and "Eve Employee" not in pending
    opted_out = manager_client.get("/team/proposals/?state=opted_out").content.decode()
    assert "Eve Employee" in opted_out and "Sam Second" not in opted_out


def test_a_manager_extends_a_deadline_but_cannot_shorten_it(manager_client, proposal):
    url = reverse("assignments:extend", args=[proposal.pk])
    shorter = manager_client.post(
        url, {"response_deadline": local(minimum_deadline()), "reason": "Sooner."}
    )
    assert "can only be extended" in shorter.content.decode()
    later = proposal.response_deadline + timedelta(days=2)
    response = manager_client.post(
        url, {"response_deadline": local(later), "reason": "She is at a conference."}
    )
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.response_deadline == later.replace(second=0, microsecond=0)


def test_a_manager_withdraws_a_proposal(manager_client, proposal):
    url = reverse("assignments:withdraw", args=[proposal.pk])
    assert "Withdraw proposal" in manager_client.get(url).content.decode()
    reason = {"reason": "The team's plans changed."}
    assert manager_client.post(url, reason).status_code == 302
    proposal.refresh_from_db()
    assert proposal.state == Proposal.State.WITHDRAWN
    again = manager_client.post(url, reason)
    assert again.status_code == 409 and "proposer withdrew it" in again.content.decode()


def test_another_managers_proposal_is_a_404(client, proposal, outsider, payments):
    other_boss = make_person("boss@example.test", "Other Boss", payments)
    outsider.manager = other_boss
    outsider.save(update_fields=["manager"])
    client.force_login(other_boss.user)
    for name in ("extend", "withdraw"):
        assert client.get(reverse(f"assignments:{name}", args=[proposal.pk])).status_code == 404
        assert client.post(reverse(f"assignments:{name}", args=[proposal.pk])).status_code == 404
    proposal.refresh_from_db()
    assert proposal.state == Proposal.State.PENDING


def test_managers_cannot_decide_for_their_reports(manager_client, proposal):
    url = reverse("assignments:opt_in", args=[proposal.pk])
    assert manager_client.post(url, {"terms_sha256": proposal.terms_sha256}).status_code == 404
    assert not ConsentRecord.objects.exists()


def test_manager_forms_are_protected_against_csrf(manager, employee, proposal, ai_team, deadline):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(manager.user)
    assert "csrfmiddlewaretoken" in client.get("/team/propose/").content.decode()
    assert (
        client.post("/team/propose/", propose_data(employee, ai_team, deadline)).status_code == 403
    )
    for name in ("extend", "withdraw"):
        assert client.post(reverse(f"assignments:{name}", args=[proposal.pk])).status_code == 403
    proposal.refresh_from_db()
    assert proposal.state == Proposal.State.PENDING and Proposal.objects.count() == 1


# --- Issue 9: a real description, the facts people compare, and reasons ------------------


def test_a_token_description_is_refused_and_the_form_says_why(
    manager_client, employee, ai_team, deadline
):
    form = manager_client.get("/team/propose/").content.decode()
    assert "At least 80 characters" in form and "decides about their job" in form
    for words in ("", "x", "Label data."):
        response = manager_client.post(
            "/team/propose/", propose_data(employee, ai_team, deadline, role_description=words)
        )
        assert response.status_code == 200
    assert "at least 80 characters (this has 11)" in response.content.decode()
    assert not Proposal.objects.exists()


def test_the_form_asks_for_the_facts_people_compare_and_they_become_terms(
    manager_client, employee, ai_team, deadline
):
    from consent.models import TermsDocument

    form = manager_client.get("/team/propose/").content.decode()
    for label in ("Grade", "Pay band change", "Location", "New manager", "Expected duration"):
        assert label in form, label
    assert 'value="Morgan Manager"' in form and 'value="morgan@example.test"' in form
    missing = manager_client.post(
        "/team/propose/", propose_data(employee, ai_team, deadline, grade="", pay_band_change="")
    )
    assert missing.status_code == 200 and not Proposal.objects.exists()
    data = propose_data(employee, ai_team, deadline, pay_band_change="down")
    assert manager_client.post("/team/propose/", data).status_code == 302
    proposal = Proposal.objects.get()
    rows = dict(TermsDocument.objects.get(sha256=proposal.terms_sha256).content["rows"])
    assert rows["Grade"] == "L4" and rows["Pay band"] == "Lower pay band"
    assert rows["New manager"] == "Ada Lead" and rows["Expected duration"] == "Permanent"
    assert rows["Contact for questions"] == "Morgan Manager (morgan@example.test)"


def test_extending_without_a_reason_is_refused_and_with_one_the_person_is_told(
    manager_client, proposal
):
    from notifications.models import Notification

    url = reverse("assignments:extend", args=[proposal.pk])
    later = proposal.response_deadline + timedelta(days=2)
    assert "The person is told this reason" in manager_client.get(url).content.decode()
    refused = manager_client.post(url, {"response_deadline": local(later), "reason": " "})
    assert refused.status_code == 200 and "This field is required." in refused.content.decode()
    proposal.refresh_from_db()
    assert proposal.response_deadline != later.replace(second=0, microsecond=0)
    manager_client.post(url, {"response_deadline": local(later), "reason": "Parental leave."})
    event = ProposalEvent.objects.get(kind=ProposalEvent.Kind.EXTENDED)
    assert event.detail["reason"] == "Parental leave."
    notice = Notification.objects.get(kind=Notification.Kind.DEADLINE_EXTENDED)
    assert notice.context["reason"] == "Parental leave."


def test_withdrawing_without_a_reason_is_refused_and_with_one_the_person_is_told(
    manager_client, proposal, employee
):
    from django.test import Client

    url = reverse("assignments:withdraw", args=[proposal.pk])
    refused = manager_client.post(url, {"reason": ""})
    assert refused.status_code == 200 and "This field is required." in refused.content.decode()
    proposal.refresh_from_db()
    assert proposal.state == Proposal.State.PENDING
    manager_client.post(url, {"reason": "The project was cancelled."})
    proposal.refresh_from_db()
    assert proposal.state == Proposal.State.WITHDRAWN
    eve = Client()
    eve.force_login(employee.user)
    page = eve.get(reverse("assignments:proposal", args=[proposal.pk])).content.decode()
    assert "The reason they gave: The project was cancelled." in page
