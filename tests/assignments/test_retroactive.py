from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from assignments.models import Move, PlacementRequest, Proposal
from assignments.selectors import employees_without_consent_on_record
from assignments.services import (
    expire_overdue_proposals,
    opt_in,
    opt_out,
    propose_retroactive_confirmation,
)
from consent.models import ConsentRecord
from tests.assignments.helpers import describe
from tests.conftest import WEB

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirmation(employee, payments, hr_user, deadline):
    """Eve was moved from Payments to Platform by memo before the portal existed."""
    return propose_retroactive_confirmation(
        employee=employee,
        previous_team=payments,
        actor=hr_user,
        role_description=describe("You were moved here by memo in March."),
        moved_on=timezone.localdate() - timedelta(days=200),
        response_deadline=deadline,
    )


def test_staying_is_an_opt_in_that_takes_effect_without_moving_anyone(confirmation, employee):
    record = opt_in(
        proposal=confirmation,
        actor=employee.user,
        terms_sha256=confirmation.terms_sha256,
        context=WEB,
    )
    confirmation.refresh_from_db()
    assert confirmation.state == Proposal.State.EFFECTIVE
    assert record.action == ConsentRecord.Action.OPT_IN
    assert not Move.objects.exists()
    assert employee not in employees_without_consent_on_record()


def test_undrafting_is_an_opt_out_that_opens_a_preferential_placement(
    confirmation, employee, payments
):
    opt_out(proposal=confirmation, actor=employee.user, context=WEB, team_preferences=[payments])
    confirmation.refresh_from_db()
    request = PlacementRequest.objects.get(employee=employee)
    assert confirmation.state == Proposal.State.OPTED_OUT
    assert request.priority == PlacementRequest.Priority.PREFERENTIAL
    assert request.source_proposal == confirmation
    assert [p.team for p in request.preferences.all()] == [payments]


def test_silence_leaves_them_listed_as_no_consent_on_record(confirmation, employee):
    with time_machine.travel(confirmation.response_deadline + timedelta(seconds=1), tick=False):
        expire_overdue_proposals()
    confirmation.refresh_from_db()
    assert confirmation.state == Proposal.State.EXPIRED
    assert list(employees_without_consent_on_record()) == [employee]
    assert not ConsentRecord.objects.filter(action=ConsentRecord.Action.OPT_IN).exists()
