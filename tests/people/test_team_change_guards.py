"""The database keeps invariant 1 with administrative team changes: whatever code runs, raw
SQL included, nobody enters an AI-initiative team except through a Move backed by their own
opt-in, and every other change of team has its audited TeamChange row behind it."""

from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction

from assignments.models import Move
from assignments.services import apply_due_moves, opt_in, propose_transfer
from people.models import Employee, Team, TeamChange
from people.services import change_team_administratively, latest_move_id
from tests.assignments.helpers import ROLE
from tests.conftest import WEB

pytestmark = pytest.mark.django_db


def sql(statement: str, params: list):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)


def set_team(employee, team):
    sql(
        "UPDATE assignments_employee SET team_id = %s WHERE id = %s",
        [team and team.pk, employee.pk],
    )


def insert_change(employee, from_team, to_team, latest_move=None):
    sql(
        "INSERT INTO people_teamchange (employee_id, from_team_id, to_team_id, at, "
        "client_name, latest_move_id) VALUES (%s, %s, %s, CURRENT_TIMESTAMP, 'raw sql', %s)",
        [employee.pk, from_team and from_team.pk, to_team and to_team.pk, latest_move],
    )


def team_of(employee):
    return Employee.objects.get(pk=employee.pk).team


def test_raw_sql_cannot_put_anyone_into_an_ai_team(employee, platform, ai_team):
    with pytest.raises(IntegrityError, match="only through a move"):
        set_team(employee, ai_team)
    # Not even with an administrative change row written first: the row itself is refused.
    with pytest.raises(IntegrityError, match="never enters or leaves an AI-initiative team"):
        insert_change(employee, platform, ai_team)
    assert team_of(employee) == platform
    assert not TeamChange.objects.exists()


def test_a_change_row_and_the_team_update_in_one_transaction_still_cannot_enter_ai(
    employee, platform, ai_team, payments
):
    # A regular change recorded, then the team set to the AI team instead of the one named.
    with pytest.raises(IntegrityError, match="only through a move"), transaction.atomic():
        insert_change(employee, platform, payments)
        set_team(employee, ai_team)
    assert team_of(employee) == platform


def test_raw_sql_cannot_take_anyone_out_of_an_ai_team(ai_team, platform):
    from tests.conftest import make_person

    sam = make_person("sam@example.test", "Sam", ai_team)  # imported already in the team
    with pytest.raises(IntegrityError, match="never enters or leaves"):
        insert_change(sam, ai_team, platform)
    with pytest.raises(IntegrityError, match="only through a move"):
        set_team(sam, platform)
    assert team_of(sam) == ai_team


def test_a_recorded_change_between_regular_teams_is_accepted_once(employee, platform, payments):
    insert_change(employee, platform, payments)
    set_team(employee, payments)
    assert team_of(employee) == payments
    # Back to Platform needs its own row: the first one cannot be replayed...
    with pytest.raises(IntegrityError, match="only through a move"):
        set_team(employee, platform)
    insert_change(employee, payments, platform)
    set_team(employee, platform)
    # ... and neither can it once the person is back where it started.
    with pytest.raises(IntegrityError, match="only through a move"):
        set_team(employee, payments)


def test_a_change_row_must_start_from_the_current_team(employee, payments, ai_team):
    with pytest.raises(IntegrityError, match="current team"):
        insert_change(employee, payments, None)
    with pytest.raises(IntegrityError, match="changes the team"):
        insert_change(employee, employee.team, employee.team)


def test_team_changes_are_history(employee, platform, payments, hr_user):
    change = change_team_administratively(
        employee=employee, to_team=payments, actor=hr_user, client_name="admin"
    )
    with pytest.raises(IntegrityError, match="team changes are history"), transaction.atomic():
        TeamChange.objects.filter(pk=change.pk).update(to_team=platform)
    with pytest.raises(IntegrityError, match="team changes are history"), transaction.atomic():
        TeamChange.objects.filter(pk=change.pk).delete()


def test_a_populated_team_cannot_become_an_ai_initiative_even_in_raw_sql(employee, platform):
    with pytest.raises(IntegrityError, match="only while it is empty"):
        sql("UPDATE assignments_team SET kind = 'ai_initiative' WHERE id = %s", [platform.pk])
    empty = Team.objects.create(name="Empty", slug="empty")
    sql("UPDATE assignments_team SET kind = 'ai_initiative' WHERE id = %s", [empty.pk])
    assert Team.objects.get(pk=empty.pk).kind == Team.Kind.AI_INITIATIVE


@pytest.fixture
def moved_to_payments(employee, manager, payments, deadline, start_date):
    """Eve opted in to a transfer to Payments (a regular team) and was moved."""
    proposal = propose_transfer(
        employee=employee,
        to_team=payments,
        actor=manager.user,
        role_description=ROLE,
        data_labelling_percent=0,
        start_date=start_date,
        response_deadline=deadline,
    )
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    with time_machine.travel(start_date + timedelta(hours=9), tick=False):
        [move] = apply_due_moves()
    return move


def test_an_old_move_cannot_be_replayed_after_an_administrative_change(
    moved_to_payments, employee, platform, payments, hr_user
):
    assert team_of(employee) == payments
    change_team_administratively(
        employee=employee, to_team=platform, actor=hr_user, client_name="admin"
    )
    # The latest Move (Platform -> Payments) matches this change, but came before the
    # administrative change, so it no longer backs anything.
    with pytest.raises(IntegrityError, match="only through a move"):
        set_team(employee, payments)


def test_a_change_row_must_name_the_latest_move(moved_to_payments, employee, payments, platform):
    with pytest.raises(IntegrityError, match="latest move"):
        insert_change(employee, payments, platform, latest_move=None)
    insert_change(employee, payments, platform, latest_move=moved_to_payments.pk)
    set_team(employee, platform)
    assert latest_move_id(employee.pk) == moved_to_payments.pk == Move.objects.get().pk


def test_a_consented_move_into_an_ai_team_still_works(proposal, employee, ai_team):
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    with time_machine.travel(proposal.start_date + timedelta(hours=9), tick=False):
        [move] = apply_due_moves()
    assert team_of(employee) == ai_team == move.to_team
