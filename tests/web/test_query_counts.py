"""List pages run a fixed number of queries however many rows they show."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assignments.services import propose_transfer
from people.models import Team
from tests.assignments.helpers import describe
from tests.conftest import make_person

pytestmark = pytest.mark.django_db


def count_queries(client, path):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def add_proposals(employee, manager, n, deadline, start_date, offset=0):
    for i in range(n):
        team = Team.objects.create(name=f"Team {offset + i}", slug=f"team-{offset + i}")
        propose_transfer(
            employee=employee,
            to_team=team,
            actor=manager.user,
            role_description=describe("Work."),
            start_date=start_date,
            response_deadline=deadline,
        )


def test_the_inbox_does_not_query_per_proposal(eve_client, employee, manager, deadline, start_date):
    add_proposals(employee, manager, 1, deadline, start_date)
    one = count_queries(eve_client, "/inbox/")
    add_proposals(employee, manager, 4, deadline, start_date, offset=1)
    assert count_queries(eve_client, "/inbox/") == one


def test_the_team_list_does_not_query_per_proposal(
    manager_client, employee, manager, deadline, start_date
):
    add_proposals(employee, manager, 1, deadline, start_date)
    one = count_queries(manager_client, "/team/proposals/")
    sam = make_person("sam@example.test", "Sam", employee.team, manager=manager)
    add_proposals(sam, manager, 4, deadline, start_date, offset=1)
    assert count_queries(manager_client, "/team/proposals/") == one
