"""When the broker loses a queued notification task, the five-minute safety net catches up.

In these tests the on-commit callbacks never run (the test transaction never commits), which is
exactly what a lost enqueue looks like: the change is recorded, nobody has been told.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from assignments.services import opt_out, propose_retroactive_confirmation
from notifications import tasks
from notifications.emails import recreate_lost
from notifications.models import Notification
from tests.conftest import WEB

pytestmark = pytest.mark.django_db

NOTHING = {"arrivals": 0, "receipts": 0, "placements": 0}


def keys():
    return sorted(Notification.objects.values_list("dedupe_key", flat=True))


def test_a_new_proposal_whose_arrival_task_was_lost_is_announced_later(proposal, employee):
    assert keys() == []
    # The normal path gets two minutes before the safety net steps in.
    assert recreate_lost(now=timezone.now() + timedelta(minutes=1)) == NOTHING
    later = timezone.now() + timedelta(minutes=3)
    assert recreate_lost(now=later) == {**NOTHING, "arrivals": 1}
    assert keys() == [f"proposal_arrived:{proposal.pk}"]
    assert Notification.objects.get().recipient == employee.user
    assert recreate_lost(now=later) == NOTHING  # once is enough


def test_a_decision_whose_receipt_task_was_lost_still_gets_its_receipt(
    employee, manager, payments, hr_user, deadline
):
    confirmation = propose_retroactive_confirmation(
        employee=employee,
        previous_team=payments,
        actor=manager.user,
        role_description="You were moved here by memo.",
        moved_on=timezone.localdate() - timedelta(days=90),
        response_deadline=deadline,
    )
    record = opt_out(
        proposal=confirmation, actor=employee.user, context=WEB, private_reason="never asked"
    )
    later = timezone.now() + timedelta(minutes=3)
    result = recreate_lost(now=later)
    assert result == {"arrivals": 0, "receipts": 1, "placements": 1}
    request_id = employee.placement_requests.get().pk
    assert keys() == sorted(
        [
            f"decision_receipt:{record.pk}",
            f"proposal_decided:{record.pk}",
            f"placement_requested:{request_id}:{hr_user.pk}",
        ]
    )
    proposer_note = Notification.objects.get(dedupe_key=f"proposal_decided:{record.pk}")
    assert "never asked" not in str(proposer_note.context)  # never the private reason
    assert recreate_lost(now=later) == NOTHING


def test_the_periodic_task_runs_the_safety_net(proposal, time_machine):
    time_machine.move_to(timezone.now() + timedelta(minutes=5))
    assert tasks.recreate_lost_notifications()["arrivals"] == 1
    assert tasks.recreate_lost_notifications()["arrivals"] == 0
