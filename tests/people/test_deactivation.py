"""Deactivation (SCIM DELETE or active=false) ends the person's sessions at once, withdraws
what is open for them, and keeps every record of what they decided."""

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from assignments.models import Proposal, ProposalEvent
from assignments.services import opt_in
from consent.models import ConsentRecord
from people.services import deactivate_employee, end_sessions, reactivate_employee
from tests.conftest import WEB
from tests.scim.conftest import ScimClient, assert_scim_error

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    browser = Client()
    browser.force_login(user)
    assert browser.get("/inbox/").status_code == 200
    return browser


def test_deactivation_ends_only_that_persons_sessions(employee, manager):
    eve, morgan = signed_in(employee.user), signed_in(manager.user)
    signed_in(employee.user)  # a second browser
    assert Session.objects.count() == 3
    assert deactivate_employee(employee=employee, actor=None)
    assert Session.objects.count() == 1
    assert eve.get("/inbox/").status_code == 302  # back to sign-in
    assert morgan.get("/inbox/").status_code == 200
    employee.refresh_from_db()
    assert not employee.is_active and not employee.user.is_active
    assert not deactivate_employee(employee=employee, actor=None)  # once is enough


def test_deactivation_withdraws_open_proposals_and_keeps_the_ledger(proposal, employee, hris_key):
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    records = list(ConsentRecord.objects.values_list("pk", "hash"))
    key = hris_key[0]
    deleted = ScimClient(hris_key[1]).delete(f"Users/{employee.pk}")
    assert deleted.status_code == 204
    proposal.refresh_from_db()
    assert proposal.state == Proposal.State.WITHDRAWN
    withdrawn = ProposalEvent.objects.get(proposal=proposal, kind=ProposalEvent.Kind.WITHDRAWN)
    assert withdrawn.actor_id == key.service_user_id
    assert withdrawn.detail["reason"] == "deactivated by the HRIS"
    # Every ledger row stays as it was: deactivation appends nothing and deletes nothing.
    assert list(ConsentRecord.objects.values_list("pk", "hash")) == records


def test_patch_active_false_deactivates_and_true_lets_them_back(employee, scim):
    browser = signed_in(employee.user)
    patched = scim.patch(f"Users/{employee.pk}", [{"op": "replace", "value": {"active": False}}])
    assert patched.status_code == 200 and patched.json()["active"] is False
    assert browser.get("/inbox/").status_code == 302
    assert Session.objects.count() == 0
    back = scim.patch(f"Users/{employee.pk}", [{"op": "replace", "path": "active", "value": True}])
    assert back.json()["active"] is True
    employee.refresh_from_db()
    assert employee.is_active and employee.user.is_active
    assert signed_in(employee.user).get("/inbox/").status_code == 200


def test_a_deactivated_person_cannot_use_the_api_with_their_session(employee):
    browser = signed_in(employee.user)
    assert browser.get("/api/v1/employees/").status_code == 200
    deactivate_employee(employee=employee, actor=None)
    response = browser.get("/api/v1/employees/")
    assert response.status_code in (401, 403)


def test_end_sessions_reports_what_it_deleted(employee):
    signed_in(employee.user)
    assert end_sessions(employee.user) == 1
    assert end_sessions(employee.user) == 0


def test_reactivating_an_active_person_changes_nothing(employee):
    assert not reactivate_employee(employee=employee, actor=None)


def test_a_deleted_user_is_gone_from_scim_but_their_records_stay(employee, scim):
    scim.delete(f"Users/{employee.pk}")
    assert_scim_error(scim.get(f"Users/{employee.pk}"), 404)
    employee.refresh_from_db()
    assert employee.team is not None  # history, including their team, is kept
