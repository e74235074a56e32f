"""Nobody's silence is read while they are away: leave pauses the response window."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from assignments import tasks
from assignments.deadlines import add_working_days
from assignments.models import Proposal, ProposalEvent
from assignments.services import end_leave, opt_in, propose_transfer, start_leave
from notifications.models import Notification
from tests.assignments.helpers import describe
from tests.conftest import WEB

pytestmark = pytest.mark.django_db

MONDAY = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def monday_proposal(employee, manager, ai_team):
    with time_machine.travel(MONDAY, tick=False):
        return propose_transfer(
            employee=employee,
            to_team=ai_team,
            actor=manager.user,
            role_description=describe("Evaluate models."),
            start_date=(MONDAY + timedelta(days=30)).date(),
            response_deadline=add_working_days(MONDAY, 5),  # Monday 8 March, 09:00
        )


def test_the_sweep_does_not_expire_or_remind_someone_on_leave(monday_proposal, employee, hr_user):
    with time_machine.travel(MONDAY + timedelta(days=2), tick=False):  # Wednesday
        start_leave(employee=employee, actor=hr_user)
    with time_machine.travel(monday_proposal.response_deadline + timedelta(days=1), tick=False):
        assert tasks.sweep_deadlines()["expired"] == 0
    monday_proposal.refresh_from_db()
    assert monday_proposal.state == Proposal.State.PENDING
    assert not Notification.objects.filter(kind=Notification.Kind.DEADLINE_REMINDER).exists()


def test_returning_from_leave_extends_the_window_by_the_working_days_away(
    monday_proposal, employee, hr_user
):
    with time_machine.travel(MONDAY + timedelta(days=2), tick=False):  # Wed 3 March
        start_leave(employee=employee, actor=hr_user)
    with time_machine.travel(MONDAY + timedelta(days=14), tick=False):  # Mon 15 March
        [extended] = end_leave(employee=employee, actor=hr_user)
    # Away Wed 3 .. Fri 12 March: 8 working days. Monday 8 March + 8 working days.
    assert extended.response_deadline == datetime(2027, 3, 18, 9, 0, tzinfo=UTC)
    event = ProposalEvent.objects.get(proposal=monday_proposal, kind=ProposalEvent.Kind.EXTENDED)
    assert event.detail["reason"] == "leave" and event.detail["working_days"] == 8
    assert event.actor == hr_user
    employee.refresh_from_db()
    assert employee.on_leave_since is None
    # Back at work, the window runs again and the sweep reads it.
    with time_machine.travel(datetime(2027, 3, 18, 9, 1, tzinfo=UTC), tick=False):
        assert tasks.sweep_deadlines()["expired"] == 1


def test_leave_can_be_marked_twice_and_ended_twice_without_effect(
    monday_proposal, employee, hr_user
):
    with time_machine.travel(MONDAY, tick=False):
        start_leave(employee=employee, actor=hr_user)
    with time_machine.travel(MONDAY + timedelta(days=1), tick=False):
        start_leave(employee=employee, actor=hr_user)  # keeps the first start
        [p] = end_leave(employee=employee, actor=hr_user)
        assert end_leave(employee=employee, actor=hr_user) == []
    assert p.response_deadline == add_working_days(add_working_days(MONDAY, 5), 1)


def test_someone_on_leave_may_still_decide(monday_proposal, employee, hr_user):
    with time_machine.travel(MONDAY + timedelta(days=1), tick=False):
        start_leave(employee=employee, actor=hr_user)
        opt_in(
            proposal=monday_proposal,
            actor=employee.user,
            terms_sha256=monday_proposal.terms_sha256,
            context=WEB,
        )
    monday_proposal.refresh_from_db()
    assert monday_proposal.state == Proposal.State.OPTED_IN


def test_hr_marks_leave_and_return_in_the_admin(
    client, admin_user, monday_proposal, employee, settings
):
    # The TOTP rule for admins has its own tests; here the admin action is what matters.
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "RequireMfa" not in m]
    url = "/admin/people/employee/"
    with time_machine.travel(MONDAY + timedelta(days=2), tick=False):
        client.force_login(admin_user)  # a session made in the travelled-to time
        client.post(url, {"action": "mark_on_leave", "_selected_action": [employee.pk]})
    employee.refresh_from_db()
    assert employee.on_leave_since == MONDAY + timedelta(days=2)
    with time_machine.travel(MONDAY + timedelta(days=7), tick=False):  # the next Monday
        client.force_login(admin_user)
        response = client.post(
            url, {"action": "mark_back_from_leave", "_selected_action": [employee.pk]}
        )
    assert response.status_code == 302
    monday_proposal.refresh_from_db()
    # Away Wed, Thu, Fri: 3 working days.
    assert monday_proposal.response_deadline == add_working_days(add_working_days(MONDAY, 5), 3)
