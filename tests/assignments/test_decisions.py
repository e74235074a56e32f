from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from assignments.models import Move, PlacementRequest, Proposal, ProposalEvent
from assignments.services import (
    apply_due_moves,
    expire_overdue_proposals,
    extend_deadline,
    opt_in,
    opt_out,
    propose_transfer,
    undraft,
    withdraw_consent,
    withdraw_proposal,
)
from consent.ledger import verify_chain
from consent.models import ConsentRecord
from consent.selectors import private_reason_of
from people.models import Employee
from portal.errors import TransitionError
from tests.assignments.helpers import describe
from tests.conftest import WEB

pytestmark = pytest.mark.django_db


def snapshot():
    """Everything a failed action must leave untouched."""
    return (
        list(Proposal.objects.order_by("pk").values_list("pk", "state", "response_deadline")),
        ConsentRecord.objects.count(),
        Move.objects.count(),
        ProposalEvent.objects.count(),
        PlacementRequest.objects.count(),
        list(Employee.objects.order_by("pk").values_list("pk", "team_id")),
    )


def test_opting_in_records_the_exact_terms_and_moves_nobody_yet(proposal, employee, ai_team):
    record = opt_in(
        proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB
    )
    proposal.refresh_from_db()
    employee.refresh_from_db()
    assert proposal.state == Proposal.State.OPTED_IN
    assert record.action == ConsentRecord.Action.OPT_IN
    assert record.terms_sha256 == proposal.terms_sha256
    assert record.ip_address == "203.0.113.7"
    assert employee.team != ai_team
    assert not Move.objects.exists()


def test_the_move_happens_on_the_start_date_and_points_at_the_opt_in(proposal, employee, ai_team):
    record = opt_in(
        proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB
    )
    with time_machine.travel(proposal.start_date - timedelta(days=1), tick=False):
        assert apply_due_moves() == []
    with time_machine.travel(proposal.start_date + timedelta(hours=9), tick=False):
        [move] = apply_due_moves()
        assert apply_due_moves() == []  # running the sweep again changes nothing
    employee.refresh_from_db()
    proposal.refresh_from_db()
    assert employee.team == ai_team
    assert move.opt_in_record == record
    assert proposal.state == Proposal.State.EFFECTIVE


def test_nobody_but_the_employee_can_decide(proposal, manager, hr_user):
    before = snapshot()
    for actor in (manager.user, hr_user):
        with pytest.raises(PermissionDenied):
            opt_in(proposal=proposal, actor=actor, terms_sha256=proposal.terms_sha256, context=WEB)
        with pytest.raises(PermissionDenied):
            opt_out(proposal=proposal, actor=actor, context=WEB)
    assert snapshot() == before


def test_deciding_twice_is_refused_and_records_one_row(proposal, employee):
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    before = snapshot()
    with pytest.raises(TransitionError, match="already opted in"):
        opt_in(
            proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB
        )
    assert snapshot() == before
    assert ConsentRecord.objects.count() == 1


def test_opting_in_to_terms_other_than_those_shown_is_refused(proposal, employee):
    before = snapshot()
    with pytest.raises(TransitionError, match="not the ones you were shown"):
        opt_in(proposal=proposal, actor=employee.user, terms_sha256="0" * 64, context=WEB)
    assert snapshot() == before


def test_deciding_after_the_deadline_is_refused(proposal, employee):
    before = snapshot()
    with time_machine.travel(proposal.response_deadline + timedelta(minutes=1), tick=False):
        with pytest.raises(TransitionError, match="deadline passed"):
            opt_in(
                proposal=proposal,
                actor=employee.user,
                terms_sha256=proposal.terms_sha256,
                context=WEB,
            )
        with pytest.raises(TransitionError, match="deadline passed"):
            opt_out(proposal=proposal, actor=employee.user, context=WEB)
    assert snapshot() == before


def test_silence_expires_the_proposal_and_never_moves_anyone(proposal, employee):
    with time_machine.travel(proposal.response_deadline + timedelta(minutes=1), tick=False):
        assert expire_overdue_proposals() == [proposal.pk]
        assert expire_overdue_proposals() == []  # a second sweep finds nothing to do
        apply_due_moves()
    with time_machine.travel(proposal.start_date + timedelta(days=1), tick=False):
        apply_due_moves()
    proposal.refresh_from_db()
    assert proposal.state == Proposal.State.EXPIRED
    [record] = ConsentRecord.objects.all()
    assert record.action == ConsentRecord.Action.EXPIRE and record.actor is None
    assert not Move.objects.exists()
    with pytest.raises(TransitionError, match="expired"):
        opt_in(
            proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB
        )


def test_withdrawing_consent_the_day_before_the_start_keeps_the_person_where_they_are(
    proposal, employee, platform
):
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    with time_machine.travel(proposal.start_date - timedelta(days=1), tick=False):
        withdraw_consent(
            proposal=proposal, actor=employee.user, context=WEB, private_reason="caring duties"
        )
    with time_machine.travel(proposal.start_date + timedelta(hours=9), tick=False):
        assert apply_due_moves() == []
    employee.refresh_from_db()
    proposal.refresh_from_db()
    assert employee.team == platform
    assert proposal.state == Proposal.State.OPTED_OUT
    assert list(ConsentRecord.objects.values_list("action", flat=True)) == ["opt_in", "withdraw"]


def test_opting_out_is_one_action_with_a_private_reason(proposal, employee):
    record = opt_out(
        proposal=proposal,
        actor=employee.user,
        context=WEB,
        private_reason="  I prefer my current work ",
    )
    proposal.refresh_from_db()
    assert proposal.state == Proposal.State.OPTED_OUT
    assert private_reason_of(record, employee.user) == "I prefer my current work"
    assert not PlacementRequest.objects.exists()  # they stay where they are: nothing to place


def test_acting_on_a_withdrawn_proposal_is_refused(proposal, employee, manager):
    withdraw_proposal(proposal=proposal, actor=manager.user, reason="Team plans changed.")
    before = snapshot()
    with pytest.raises(TransitionError, match="proposer withdrew it"):
        opt_in(
            proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB
        )
    with pytest.raises(TransitionError, match="proposer withdrew it"):
        withdraw_proposal(proposal=proposal, actor=manager.user, reason="Team plans changed.")
    assert snapshot() == before


def test_undrafting_after_a_move_opens_a_preferential_placement_request(
    proposal, employee, payments, platform
):
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    with time_machine.travel(proposal.start_date + timedelta(hours=9), tick=False):
        apply_due_moves()
    request = undraft(
        proposal=proposal, actor=employee.user, context=WEB, team_preferences=[platform, payments]
    )
    assert request.priority == PlacementRequest.Priority.PREFERENTIAL
    assert [p.team for p in request.preferences.all()] == [platform, payments]
    assert ConsentRecord.objects.last().action == ConsentRecord.Action.UNDRAFT
    before = snapshot()
    with pytest.raises(TransitionError, match="already have an open placement request"):
        undraft(proposal=proposal, actor=employee.user, context=WEB, team_preferences=[])
    assert snapshot() == before


def test_extending_is_recorded_and_shortening_is_refused(proposal, manager):
    later = proposal.response_deadline + timedelta(days=2)
    extend_deadline(
        proposal=proposal, actor=manager.user, new_deadline=later, reason="More time to ask."
    )
    proposal.refresh_from_db()
    assert proposal.response_deadline == later
    event = proposal.events.get(kind=ProposalEvent.Kind.EXTENDED)
    assert event.actor == manager.user
    before = snapshot()
    with pytest.raises(ValidationError, match="can only be extended"):
        extend_deadline(
            proposal=proposal,
            actor=manager.user,
            new_deadline=later - timedelta(hours=1),
            reason="Shorter.",
        )
    assert snapshot() == before


@pytest.mark.parametrize(
    "change, message",
    [
        ({"response_deadline": timezone.now() + timedelta(days=1)}, "at least 5 working days"),
        ({"to_team": "current"}, "is already in Platform"),
        ({"inactive": True}, "no longer active"),
        ({"start_date": timezone.localdate()}, "start date must be on or after"),
        ({"role_description": "   "}, "Describe the role"),
        ({"role_description": "Work."}, "at least 80 characters"),
    ],
)
def test_bad_proposals_are_refused_with_a_clear_message_and_change_nothing(
    employee, manager, ai_team, deadline, start_date, change, message
):
    if change.pop("inactive", False):
        Employee.objects.filter(pk=employee.pk).update(is_active=False)
    if change.get("to_team") == "current":
        change["to_team"] = employee.team
    kwargs = dict(
        employee=employee,
        to_team=ai_team,
        actor=manager.user,
        role_description=describe("Evaluate models"),
        start_date=start_date,
        response_deadline=deadline,
    )
    kwargs.update(change)
    before = snapshot()
    with pytest.raises(ValidationError, match=message):
        propose_transfer(**kwargs)
    assert snapshot() == before


def test_a_second_open_proposal_for_the_same_team_is_refused(proposal, employee, manager, ai_team):
    before = snapshot()
    with pytest.raises(ValidationError, match="already has an open proposal"):
        propose_transfer(
            employee=employee,
            to_team=ai_team,
            actor=manager.user,
            role_description=describe("Again"),
            start_date=proposal.start_date,
            response_deadline=proposal.response_deadline,
        )
    assert snapshot() == before


def test_every_decision_keeps_the_ledger_chain_intact(proposal, employee):
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    withdraw_consent(proposal=proposal, actor=employee.user, context=WEB)
    report = verify_chain()
    assert report.intact and report.checked == 2
