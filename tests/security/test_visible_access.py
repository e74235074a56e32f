"""Visible access: everyone shown another person's decision is in that person's access log.

A proposal's state, a move and a placement request each say what someone decided. The API
(proposals, moves, placement requests: lists and details), the manager's team page, HR's
placement queue and offer page, and every notice that tells a proposer or HR of someone's
answer, expiry, move or undraft write one entry per person shown (assignments.access,
assignments.emails._log_told). The person reads them in their privacy centre. And nothing is
lost: an account or a person with history cannot be deleted from the admin.
"""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from api.scopes import SCOPES
from assignments.models import PlacementRequest
from assignments.services import (
    expire_overdue_proposals,
    opt_out,
    propose_retroactive_confirmation,
)
from consent.models import AccessLogEntry
from people.models import Employee
from tests.api.conftest import key_client
from tests.conftest import WEB, make_person
from tests.hr.conftest import ROLE

pytestmark = pytest.mark.django_db

Channel = AccessLogEntry.Channel


def entries(subject, **match):
    return list(AccessLogEntry.objects.filter(subject=subject, **match).order_by("id"))


@pytest.fixture
def decided(proposal, employee):
    """Eve opted out of the proposal her manager made."""
    opt_out(proposal=proposal, actor=employee.user, context=WEB)
    return proposal


@pytest.fixture
def undrafted(employee, payments, hr_user):
    """Eve, moved to Platform before the portal existed, undrafted: a placement request."""
    confirmation = propose_retroactive_confirmation(
        employee=employee,
        previous_team=payments,
        actor=hr_user,
        role_description=ROLE,
        moved_on=timezone.localdate() - timedelta(days=300),
        response_deadline=timezone.now() + timedelta(days=10),
    )
    opt_out(proposal=confirmation, actor=employee.user, context=WEB, team_preferences=[payments])
    return PlacementRequest.objects.get(employee=employee)


# --- notices -------------------------------------------------------------------------------


def test_telling_the_proposer_of_an_answer_is_in_the_persons_access_log(decided, employee, manager):
    [told] = entries(employee.user, channel=Channel.NOTICE)
    assert told.viewer_id == manager.user_id
    assert told.page == "notice: proposal_decided"
    # The person's own receipt is not a read by someone else.
    assert not entries(employee.user, viewer=employee.user)


def test_the_sweep_logs_each_proposer_told_of_an_expiry(proposal, employee, manager):
    expire_overdue_proposals(now=proposal.response_deadline + timedelta(minutes=1))
    [told] = entries(employee.user, channel=Channel.NOTICE)
    assert (told.viewer_id, told.page) == (manager.user_id, "notice: proposal_expired")


@pytest.fixture
def other_hr(hr_user):
    other = get_user_model().objects.create_user(username="hollis@example.test")
    other.groups.add(*hr_user.groups.all())
    return other


def test_hr_told_of_a_placement_request_is_logged_for_each_partner(
    other_hr, undrafted, employee, hr_user
):
    told = {e.viewer_id for e in entries(employee.user, page="notice: placement_requested")}
    assert told == {hr_user.pk, other_hr.pk}


def test_telling_the_proposer_of_a_move_is_logged_once_however_often_it_is_dispatched(
    proposal, employee, manager
):
    from types import SimpleNamespace

    import time_machine

    from assignments import emails
    from assignments.services import apply_move, opt_in

    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    start = timezone.make_aware(timezone.datetime(*proposal.start_date.timetuple()[:3], 9))
    with time_machine.travel(start):
        move = apply_move(proposal=proposal)
    event = SimpleNamespace(payload={"move_id": move.pk})
    emails.move_effective(event)
    emails.move_effective(event)  # the outbox dispatched it again
    told = entries(employee.user, page="notice: move_effective")
    assert [e.viewer_id for e in told] == [manager.user_id]


# --- pages ---------------------------------------------------------------------------------


def test_the_managers_team_page_logs_each_person_listed(client, decided, employee, manager):
    client.force_login(manager.user)
    assert client.get(reverse("assignments:team_proposals")).status_code == 200
    [shown] = entries(employee.user, channel=Channel.WEB)
    assert shown.viewer_id == manager.user_id
    assert shown.page == reverse("assignments:team_proposals")
    assert shown.purpose == "team proposals"


def test_the_placement_queue_and_offer_page_log_the_person_shown(
    client, hr_user, employee, undrafted
):
    request = undrafted
    client.force_login(hr_user)
    assert client.get(reverse("hr:placements")).status_code == 200
    assert client.get(reverse("hr:offer_placement", args=[request.pk])).status_code == 200
    pages = [(e.page, e.purpose) for e in entries(employee.user, channel=Channel.WEB)]
    assert pages == [
        (reverse("hr:placements"), "placement queue"),
        (reverse("hr:offer_placement", args=[request.pk]), "placement offer"),
    ]


# --- the API -------------------------------------------------------------------------------


def test_an_api_key_reading_proposals_is_logged_for_each_person_on_the_page(
    decided, employee, outsider, manager, ai_team, deadline, start_date
):
    client, key, _ = key_client(*SCOPES, name="Workday sync")
    assert client.get("/api/v1/proposals/").status_code == 200
    assert client.get(f"/api/v1/proposals/{decided.pk}/").status_code == 200
    shown = entries(employee.user, channel=Channel.API)
    assert [e.viewer_id for e in shown] == [key.service_user_id] * 2
    assert shown[0].page == "/api/v1/proposals/"
    assert shown[1].page == f"/api/v1/proposals/{decided.pk}/"
    assert all("Workday sync" in e.purpose for e in shown)
    # Oscar has no proposal: listing Eve's tells nobody about him.
    assert not entries(outsider.user)


def test_placement_requests_over_the_api_are_logged(undrafted, employee):
    client, key, _ = key_client("proposals:read")
    assert client.get("/api/v1/placement-requests/").json()["results"]
    assert client.get(f"/api/v1/placement-requests/{undrafted.pk}/").status_code == 200
    pages = [e.page for e in entries(employee.user, channel=Channel.API)]
    assert pages == ["/api/v1/placement-requests/", f"/api/v1/placement-requests/{undrafted.pk}/"]


def test_a_person_reading_their_own_proposals_over_the_api_logs_nothing(client, decided, employee):
    client.force_login(employee.user)
    assert client.get("/api/v1/proposals/").json()["results"]
    assert not entries(employee.user, channel=Channel.API)


def test_the_person_sees_who_was_told_in_their_privacy_centre(client, decided, employee):
    client.force_login(employee.user)
    page = client.get(reverse("privacy:access_log")).content.decode()
    assert "Morgan Manager" in page and "Notice" in page


# --- the admin keeps people with history -----------------------------------------------------


@pytest.fixture
def admin_client(client, db):
    client.force_login(
        get_user_model().objects.create_superuser(username="root@example.test", password="pw")
    )
    return client


def test_a_person_with_history_cannot_be_deleted_from_the_admin(admin_client, decided, employee):
    for url in (
        reverse("admin:people_employee_delete", args=[employee.pk]),
        reverse("admin:auth_user_delete", args=[employee.user_id]),
    ):
        assert admin_client.get(url).status_code == 403
        assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert Employee.objects.filter(pk=employee.pk).exists()
    change = admin_client.get(reverse("admin:people_employee_change", args=[employee.pk]))
    assert (
        reverse("admin:people_employee_delete", args=[employee.pk]) not in change.content.decode()
    )


def test_the_bulk_delete_is_not_offered_for_people_or_accounts(admin_client, employee):
    for model in ("people_employee", "auth_user"):
        page = admin_client.get(reverse(f"admin:{model}_changelist")).content.decode()
        assert 'value="delete_selected"' not in page


def test_a_record_made_by_mistake_with_no_history_can_still_be_deleted(admin_client, platform):
    typo = make_person("tpyo@example.test", "Tpyo", platform)
    url = reverse("admin:people_employee_delete", args=[typo.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Employee.objects.filter(pk=typo.pk).exists()
