"""Administrative team changes (the HRIS's, or an administrator's): audited, and never into
or out of an AI-initiative team."""

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from people.models import Team, TeamChange
from people.selectors import team_changes_for
from people.services import (
    TeamChangeRefused,
    TeamKindRefused,
    change_team_administratively,
    change_team_kind,
)

pytestmark = pytest.mark.django_db


def test_a_change_between_regular_teams_records_who_when_and_from_which_client(
    employee, platform, payments, hris_key
):
    key = hris_key[0]
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        change = change_team_administratively(
            employee=employee,
            to_team=payments,
            actor=key.service_user,
            client_name=key.name,
            api_key_id=key.pk,
        )
    employee.refresh_from_db()
    assert employee.team == payments
    assert (change.from_team, change.to_team, change.at) == (platform, payments, moment)
    assert (change.actor, change.client_name, change.api_key) == (
        key.service_user,
        "Workday sync",
        key,
    )


def test_a_change_to_the_team_someone_is_in_records_nothing(employee, platform, hr_user):
    kept = change_team_administratively(
        employee=employee, to_team=platform, actor=hr_user, client_name="admin"
    )
    assert kept is None and not TeamChange.objects.exists()


def test_nobody_is_moved_into_or_out_of_an_ai_initiative(employee, platform, ai_team, hr_user):
    with pytest.raises(TeamChangeRefused, match="POST /api/v1/proposals/"):
        change_team_administratively(
            employee=employee, to_team=ai_team, actor=hr_user, client_name="admin"
        )
    from tests.conftest import make_person

    sam = make_person("sam@example.test", "Sam", ai_team)
    with pytest.raises(TeamChangeRefused, match="undraft"):
        change_team_administratively(
            employee=sam, to_team=platform, actor=hr_user, client_name="admin"
        )
    assert not TeamChange.objects.exists()


def test_a_team_becomes_an_ai_initiative_only_while_empty(employee, platform, hr_user):
    with pytest.raises(TeamKindRefused, match="retroactive confirmations"):
        change_team_kind(team=platform, kind=Team.Kind.AI_INITIATIVE, actor=hr_user)
    assert Team.objects.get(pk=platform.pk).kind == Team.Kind.REGULAR
    empty = Team.objects.create(name="New initiative", slug="new-initiative")
    change_team_kind(team=empty, kind=Team.Kind.AI_INITIATIVE, actor=hr_user)
    assert Team.objects.get(pk=empty.pk).kind == Team.Kind.AI_INITIATIVE


def test_an_ai_initiative_can_become_a_regular_team_with_its_members(ai_team, hr_user):
    from tests.conftest import make_person

    make_person("sam@example.test", "Sam", ai_team)
    change_team_kind(team=ai_team, kind=Team.Kind.REGULAR, actor=hr_user)
    assert Team.objects.get(pk=ai_team.pk).kind == Team.Kind.REGULAR


def test_the_timeline_selector_lists_changes_newest_first_in_one_query(
    employee, platform, payments, hr_user
):
    first = change_team_administratively(
        employee=employee, to_team=payments, actor=hr_user, client_name="admin"
    )
    second = change_team_administratively(
        employee=employee, to_team=platform, actor=hr_user, client_name="admin"
    )
    with CaptureQueriesContext(connection) as queries:
        changes = list(team_changes_for(employee))
        names = [(c.from_team.name, c.to_team.name, c.actor.email) for c in changes]
    assert changes == [second, first]
    assert names[0] == ("Payments", "Platform", "harper@example.test")
    assert len(queries) == 1
