"""Found: an admin could become an employee by pointing the person's record at their own
account, then decide and be moved "as" them, with the ledger still verifying.

Fixed at the root: the account link is fixed once the person has records (a database
trigger); the proposal records its subject when it is made and both the services and the move
guard bind to that subject; every admin page about a person lands in that person's access log.
"""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from assignments.models import Move, Proposal
from assignments.services import opt_in
from consent.models import AccessLogEntry, ConsentRecord
from consent.services import append_record
from people.models import Employee
from tests.conftest import WEB, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def mallory(db):
    """A superuser who would like to be Eve."""
    return get_user_model().objects.create_superuser(
        username="mallory@example.test", email="mallory@example.test", password="pw"
    )


def _repoint(employee, user):
    Employee.objects.filter(pk=employee.pk).update(user=user)


def test_the_database_refuses_to_repoint_a_person_with_a_proposal(proposal, employee, mallory):
    with pytest.raises(IntegrityError, match="account link is fixed"), transaction.atomic():
        _repoint(employee, mallory)
    employee.refresh_from_db()
    assert employee.user.username == "eve@example.test"


def test_the_database_refuses_to_repoint_a_person_with_ledger_records_only(platform, mallory):
    person = make_person("dana@example.test", "Dana", platform)
    append_record(
        subject=person.user,
        about_kind="purpose",
        about_id="keystrokes-1",
        action=ConsentRecord.Action.OPT_OUT,
        terms_sha256="0" * 64,
        terms_version="1",
        actor=person.user,
        context=WEB,
    )
    with pytest.raises(IntegrityError, match="account link is fixed"), transaction.atomic():
        _repoint(person, mallory)


def test_a_person_without_records_can_still_be_linked(platform, mallory):
    fresh = make_person("newcomer@example.test", "Newcomer", platform)
    other = get_user_model().objects.create_user(username="newcomer2", email="n2@example.test")
    _repoint(fresh, other)
    fresh.refresh_from_db()
    assert fresh.user_id == other.pk


def test_a_proposal_records_its_subject_and_it_never_changes(proposal, employee, mallory):
    proposal.refresh_from_db()
    assert proposal.subject_user_id == employee.user_id
    with pytest.raises(IntegrityError, match="subject of a proposal"), transaction.atomic():
        Proposal.objects.filter(pk=proposal.pk).update(subject_user=mallory)


def test_a_bulk_insert_without_a_subject_gets_the_employee_recorded(proposal, employee):
    copy = Proposal.objects.get(pk=proposal.pk)
    copy.pk, copy.subject_user_id, copy.state = None, None, Proposal.State.WITHDRAWN
    Proposal.objects.bulk_create([copy])
    assert Proposal.objects.filter(subject_user_id=employee.user_id).count() == 2


def _without_account_guard():
    # As an owner with raw SQL could (rolled back with the test's transaction): the remaining
    # guards must hold on their own.
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER people_employee_account_fixed ON assignments_employee")


def test_a_repointed_account_cannot_decide_for_the_person(proposal, employee, mallory):
    _without_account_guard()
    _repoint(employee, mallory)
    with pytest.raises(PermissionDenied):
        opt_in(
            proposal=Proposal.objects.get(pk=proposal.pk),
            actor=mallory,
            terms_sha256=proposal.terms_sha256,
            context=WEB,
        )
    assert not ConsentRecord.objects.filter(about_id=str(proposal.pk)).exists()


def test_the_move_guard_refuses_an_opt_in_by_a_repointed_account(
    proposal, employee, mallory, start_date
):
    _without_account_guard()
    _repoint(employee, mallory)
    forged = append_record(
        subject=mallory,
        about_kind="proposal",
        about_id=proposal.pk,
        action=ConsentRecord.Action.OPT_IN,
        terms_sha256=proposal.terms_sha256,
        terms_version=proposal.terms_version,
        actor=mallory,
        context=WEB,
    )
    Proposal.objects.filter(pk=proposal.pk).update(state=Proposal.State.OPTED_IN)
    with pytest.raises(IntegrityError, match="own live opt-in"), transaction.atomic():
        Move.objects.create(
            proposal=proposal,
            employee=employee,
            from_team=employee.team,
            to_team=proposal.to_team,
            opt_in_record=forged,
            effective_date=start_date,
            applied_at=timezone.now(),
        )


# --- the admin ---------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, mallory):
    client.force_login(mallory)
    return client


def _logged(subject, page):
    return AccessLogEntry.objects.filter(subject=subject, page=page, channel="web").count()


def test_the_admin_shows_the_account_link_fixed_and_logs_the_look(
    admin_client, proposal, employee, mallory
):
    page = f"/admin/people/employee/{employee.pk}/change/"
    response = admin_client.get(page)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="user"' not in body  # shown, not editable
    assert "account link is" in body and "fixed" in body
    assert _logged(employee.user, page) == 1


@pytest.mark.parametrize(
    "page",
    [
        "/admin/auth/user/{user}/change/",
        "/admin/assignments/proposal/{proposal}/change/",
    ],
)
def test_every_admin_page_about_a_person_lands_in_their_access_log(
    admin_client, proposal, employee, page
):
    page = page.format(user=employee.user_id, proposal=proposal.pk)
    assert admin_client.get(page).status_code == 200
    assert _logged(employee.user, page) == 1
    # The person sees it in their own access log.
    admin_client.force_login(employee.user)
    assert page in admin_client.get("/privacy/access-log/").content.decode()
