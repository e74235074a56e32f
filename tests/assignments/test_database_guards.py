"""The database refuses a move without a live opt-in, whatever code path tries it."""

from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from assignments.models import Move
from assignments.services import apply_due_moves, opt_in, withdraw_consent
from consent.models import ConsentRecord
from people.models import Employee
from tests.conftest import WEB

pytestmark = pytest.mark.django_db


def insert_move(proposal, record, **overrides):
    values = dict(
        proposal=proposal,
        employee=proposal.employee,
        from_team=proposal.from_team,
        to_team=proposal.to_team,
        opt_in_record=record,
        effective_date=proposal.start_date,
    )
    values.update(overrides)
    with transaction.atomic():
        return Move.objects.create(**values)


def test_changing_a_team_directly_is_refused(employee, ai_team):
    with pytest.raises(IntegrityError, match="only through a move"), transaction.atomic():
        Employee.objects.filter(pk=employee.pk).update(team=ai_team)
    raw = "UPDATE assignments_employee SET team_id = %s WHERE id = %s"
    with (
        pytest.raises(IntegrityError, match="only through a move"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(raw, [ai_team.pk, employee.pk])


def test_editing_other_fields_of_a_person_is_fine(employee):
    employee.title = "Staff Engineer"
    employee.save()
    Employee.objects.filter(pk=employee.pk).update(name="Eve E.")


def test_a_move_without_an_opt_in_record_is_refused(proposal, employee, outsider):
    # A record about something else entirely: the outsider's own opt-in elsewhere.
    stray = ConsentRecord.objects.none()
    assert not stray.exists()
    record = opt_in(
        proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB
    )
    withdraw_consent(proposal=proposal, actor=employee.user, context=WEB)
    with pytest.raises(IntegrityError, match="live opt-in"):
        insert_move(proposal, record)


def test_a_move_pointing_at_an_opt_in_for_other_terms_is_refused(proposal, employee):
    record = opt_in(
        proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB
    )
    with connection.cursor() as cursor:  # terms changed behind the employee's back
        cursor.execute(
            "UPDATE assignments_proposal SET terms_sha256 = %s WHERE id = %s",
            ["f" * 64, proposal.pk],
        )
    with pytest.raises(IntegrityError, match="live opt-in"):
        insert_move(proposal, record)


def test_a_move_to_another_team_than_agreed_is_refused(proposal, employee, payments):
    record = opt_in(
        proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB
    )
    with pytest.raises(IntegrityError, match="live opt-in"):
        insert_move(proposal, record, to_team=payments)


def test_applied_moves_cannot_be_rewritten(proposal, employee):
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    with time_machine.travel(proposal.start_date + timedelta(hours=9), tick=False):
        [move] = apply_due_moves()
    with pytest.raises(IntegrityError, match="moves are history"), transaction.atomic():
        Move.objects.filter(pk=move.pk).update(effective_date=timezone.localdate())
    with pytest.raises(IntegrityError, match="moves are history"), transaction.atomic():
        Move.objects.filter(pk=move.pk).delete()
