"""Two decisions at the same moment, on two connections to real PostgreSQL."""

import pytest

from assignments.models import Proposal
from assignments.services import opt_in, propose_transfer
from consent.models import ConsentRecord
from portal.errors import TransitionError
from tests.assignments.helpers import describe
from tests.conftest import WEB
from tests.lifecycle.test_races import race

pytestmark = pytest.mark.django_db(transaction=True)


def test_opting_in_to_two_moves_at_once_accepts_exactly_one(
    employee, manager, ai_team, payments, deadline, start_date
):
    proposals = [
        propose_transfer(
            employee=employee,
            to_team=team,
            actor=manager.user,
            role_description=describe("Work"),
            start_date=start_date,
            response_deadline=deadline,
        )
        for team in (ai_team, payments)
    ]
    for _ in range(10):
        Proposal.objects.filter(pk__in=[p.pk for p in proposals]).update(
            state=Proposal.State.PENDING
        )
        before = ConsentRecord.objects.count()
        outcomes = race(
            *[
                lambda p=p: opt_in(
                    proposal=p, actor=employee.user, terms_sha256=p.terms_sha256, context=WEB
                )
                for p in proposals
            ]
        )
        kinds = sorted(kind for kind, _ in outcomes)
        assert kinds == ["error", "ok"], outcomes
        [error] = [value for kind, value in outcomes if kind == "error"]
        assert isinstance(error, TransitionError)
        assert "already accepted a move" in error.message
        assert Proposal.objects.filter(employee=employee, state="opted_in").count() == 1
        assert ConsentRecord.objects.count() == before + 1
