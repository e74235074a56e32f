"""The "no adverse consequence" figures count each person once, by their latest answer to any
campaign, and count who left (reports.selectors.outcomes_by_answer: on PostgreSQL each
person's latest answer comes off proposal_latest_answer_idx with DISTINCT ON)."""

from datetime import timedelta

import pytest

from assignments.models import Proposal
from people.models import Employee
from reports.permissions import HR_NAMESPACE, Scope
from reports.selectors import outcomes_by_answer
from tests.reports.conftest import add_people, make_campaign

pytestmark = pytest.mark.django_db


def test_each_person_counts_once_by_their_latest_answer_and_leavers_are_counted(
    hr_user, campaign, destination, platform
):
    no = add_people(campaign, destination, [(platform, "Engineer", "opted_out", 6)])
    yes = add_people(campaign, destination, [(platform, "Engineer", "opted_in", 4)])
    pending = add_people(campaign, destination, [(platform, "Engineer", "pending", 3)])
    # Two of those who said no said yes to a later campaign: their latest answer is yes.
    later = make_campaign(hr_user, name="Second drive")
    for first in no[:2]:
        Proposal.objects.create(
            employee=first.employee, from_team=platform, to_team=destination,
            proposed_by=hr_user, campaign=later, role_description="Evaluate models.",
            start_date=first.start_date + timedelta(days=60), state=Proposal.State.OPTED_IN,
            terms_sha256="f" * 64, response_deadline=first.response_deadline,
            created_at=first.decided_at + timedelta(days=5),
            decided_at=first.decided_at + timedelta(days=6),
        )  # fmt: skip
    # One who said no and one who said yes have left the company since.
    Employee.objects.filter(pk__in=[no[5].employee_id, yes[0].employee_id]).update(is_active=False)

    outcomes = outcomes_by_answer(Scope(HR_NAMESPACE))

    assert (outcomes["no"].people, outcomes["yes"].people) == (4, 6)
    assert (outcomes["no"].left, outcomes["yes"].left) == (1, 1)
    assert outcomes["no"].moved_later == outcomes["yes"].moved_later == 0
    assert all(p.state == Proposal.State.PENDING for p in pending)  # never an answer
