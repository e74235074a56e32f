"""Every notice is written in the transaction of the change it reports, so nothing is lost.

In these tests no on-commit callback ever runs (`execute=False`), which is exactly what a
crash right after COMMIT, or a broker that lost the queued message, looks like. The change is
recorded and so is every notice about it; a rolled-back change leaves none. Emails whose own
queue message was lost are picked up by the periodic re-queue (test_notifications.py).
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from assignments.deadlines import add_working_days
from assignments.services import (
    end_leave,
    extend_deadline,
    opt_out,
    propose_retroactive_confirmation,
    propose_transfer,
    start_leave,
    withdraw_proposal,
)
from notifications.models import Notification
from tests.assignments.helpers import describe
from tests.conftest import WEB

pytestmark = pytest.mark.django_db


def keys():
    return sorted(Notification.objects.values_list("dedupe_key", flat=True))


@pytest.fixture
def lost(django_capture_on_commit_callbacks):
    """The change commits; nothing queued on commit ever runs."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        yield callbacks


def test_a_new_proposal_is_announced_with_no_task_at_all(
    employee, manager, ai_team, deadline, start_date, lost
):
    proposal = propose_transfer(
        employee=employee,
        to_team=ai_team,
        actor=manager.user,
        role_description=describe("Evaluate models."),
        start_date=start_date,
        response_deadline=deadline,
    )
    notice = Notification.objects.get()
    assert notice.dedupe_key == f"proposal_arrived:{proposal.pk}"
    assert notice.recipient == employee.user
    assert notice.email_state == Notification.EmailState.PENDING  # the email is owed


def test_a_withdrawn_proposal_is_never_a_lost_notice(proposal, manager, employee, lost):
    withdraw_proposal(proposal=proposal, actor=manager.user, reason="Plans changed.")
    withdrawn = Notification.objects.get(kind=Notification.Kind.PROPOSAL_WITHDRAWN)
    assert withdrawn.recipient == employee.user
    assert withdrawn.context["proposer_name"] == manager.name
    assert withdrawn.url == f"/proposals/{proposal.pk}/"


def test_an_extended_deadline_is_never_a_lost_notice(proposal, manager, employee, lost):
    later = add_working_days(proposal.response_deadline, 2)
    extend_deadline(proposal=proposal, actor=manager.user, new_deadline=later, reason="More time.")
    extended = Notification.objects.get(kind=Notification.Kind.DEADLINE_EXTENDED)
    assert extended.recipient == employee.user
    assert extended.context["deadline"] == later.isoformat()


def test_a_return_from_leave_tells_the_person_of_each_extension(proposal, hr_user, lost):
    start_leave(employee=proposal.employee, actor=hr_user)
    back = timezone.now() + timedelta(days=7)
    (extended,) = end_leave(employee=proposal.employee, actor=hr_user, now=back)
    notice = Notification.objects.get(kind=Notification.Kind.DEADLINE_EXTENDED)
    assert notice.context["deadline"] == extended.response_deadline.isoformat()


def test_a_decision_has_its_receipt_and_hr_its_placement_request_with_no_task(
    employee, manager, payments, hr_user, deadline, lost
):
    confirmation = propose_retroactive_confirmation(
        employee=employee,
        previous_team=payments,
        actor=manager.user,
        role_description=describe("You were moved here by memo."),
        moved_on=timezone.localdate() - timedelta(days=90),
        response_deadline=deadline,
    )
    record = opt_out(
        proposal=confirmation, actor=employee.user, context=WEB, private_reason="never asked"
    )
    request_id = employee.placement_requests.get().pk
    assert keys() == sorted(
        [
            f"proposal_arrived:{confirmation.pk}",
            f"decision_receipt:{record.pk}",
            f"proposal_decided:{record.pk}",
            f"placement_requested:{request_id}:{hr_user.pk}",
        ]
    )
    proposer_note = Notification.objects.get(dedupe_key=f"proposal_decided:{record.pk}")
    assert "never asked" not in str(proposer_note.context)  # never the private reason


def test_a_rolled_back_withdrawal_leaves_no_notice(proposal, manager):
    before = keys()
    with pytest.raises(RuntimeError), transaction.atomic():
        withdraw_proposal(proposal=proposal, actor=manager.user, reason="Plans changed.")
        assert Notification.objects.filter(kind=Notification.Kind.PROPOSAL_WITHDRAWN).exists()
        raise RuntimeError("crash before commit")
    assert keys() == before
    proposal.refresh_from_db()
    assert proposal.state == proposal.State.PENDING
