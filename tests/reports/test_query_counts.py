"""Every dashboard page runs a fixed number of queries, however many campaigns and people
(healthchecks' test_list_checks.py, zulip's TestQueryCounts): one page with one campaign of
two teams, then the same page with five campaigns of many more people and teams."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from people.models import Team
from tests.reports.conftest import add_people, make_campaign

pytestmark = pytest.mark.django_db

# Every page, before its own queries: the session, the user, the person's time zone and
# language (people.middleware), whether they are HR (people.roles.is_hr, cached on the user).
# (hr_user has no employee record; for someone with one, the middleware's one query also
# answers is_hr and is_manager: see the manager's test below.)
BEFORE = 4
BELL = 1  # the unread notifications in the header, counted when base.html renders the bell


def count(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
        assert response.status_code == 200, path
        if response.streaming:
            b"".join(response.streaming_content)
    return len(queries)


def grow(hr_user, campaign, destination, n_campaigns=5):
    """Four more campaigns and many more people, teams and job levels in the first one."""
    teams = [Team.objects.create(name=f"Grown {n}", slug=f"grown-{n}") for n in range(6)]
    rows = [
        (teams[n % 6], title, outcome, 6)
        for n, (title, outcome) in enumerate(
            [
                ("Junior Engineer", "pending"),
                ("Staff Engineer", "opted_out"),
                ("Engineering Manager", "undrafted"),
                ("Principal Engineer", "expired"),
                ("Intern", "withdrawn"),
                ("Director of Data", "effective"),
            ]
        )
    ]
    add_people(campaign, destination, rows)
    for n in range(n_campaigns - 1):
        other = make_campaign(hr_user, name=f"Drive {n}")
        add_people(other, destination, [(teams[n], "Software Engineer", "opted_in", 6)])


@pytest.fixture
def small(campaign, destination, platform, payments, manager):
    add_people(
        campaign,
        destination,
        [
            (platform, "Senior Software Engineer", "opted_in", 6),
            (payments, "Software Engineer", "opted_out", 7),
        ],
        manager=manager,
    )
    return campaign


def test_the_overview_runs_the_same_queries_for_one_campaign_and_for_five(
    hr_client, hr_user, small, destination
):
    one = count(hr_client, "/hr/dashboards/")
    grow(hr_user, small, destination)
    # BEFORE, one statement for every campaign's counts per category, BELL.
    assert count(hr_client, "/hr/dashboards/") == one == BEFORE + 1 + BELL


def test_a_campaign_page_runs_the_same_queries_for_few_and_for_many_people(
    hr_client, hr_user, small, destination
):
    path = f"/hr/dashboards/campaigns/{small.pk}/"
    one = count(hr_client, path)
    grow(hr_user, small, destination)
    # BEFORE, the campaign, the breakdowns (one statement: every cut of the counts), the
    # median time to decide, BELL.
    assert count(hr_client, path) == one == BEFORE + 3 + BELL
    # Filtered to one team: the same statements.
    assert count(hr_client, f"{path}?team={small.proposals.first().from_team_id}") == one
    # The CSV: the same, less the bell (no page around it).
    assert count(hr_client, f"{path}export.csv") == one - BELL


def test_the_named_people_page_runs_the_same_queries_for_few_and_for_many_people(
    hr_client, hr_user, small, destination
):
    path = f"/hr/dashboards/campaigns/{small.pk}/people/?purpose=follow-up"
    one = count(hr_client, path)
    grow(hr_user, small, destination)
    # BEFORE, the campaign, one page of people (with how many there are in all), one INSERT
    # of the access log for everyone on the page, BELL.
    assert count(hr_client, path) == one == BEFORE + 3 + BELL
    # By job level: one more, the campaign's distinct job titles.
    assert count(hr_client, f"{path}&level=senior") == one + 1


def test_the_no_adverse_consequence_page_runs_the_same_queries_for_few_and_many(
    hr_client, hr_user, small, destination
):
    path = "/hr/dashboards/no-adverse-consequence/"
    one = count(hr_client, path)
    grow(hr_user, small, destination)
    # BEFORE, the people by latest answer (left, moved later), their placement requests
    # and offers, the days each placement took, BELL.
    assert count(hr_client, path) == one == BEFORE + 3 + BELL


def test_a_managers_pages_run_the_same_queries_for_few_and_many_reports(
    manager_client, manager, hr_user, small, destination, platform
):
    overview, page = "/team/dashboards/", f"/team/dashboards/campaigns/{small.pk}/"
    one, first = count(manager_client, overview), count(manager_client, page)
    add_people(small, destination, [(platform, "Staff Engineer", "expired", 9)], manager=manager)
    # The session, the user, and the person with their roles (people.middleware reads a
    # signed-in employee, whether they are HR and whether they manage anyone in one query,
    # kept for the request: reports.permissions asks for nothing more); then the overview's
    # one statement, or the campaign and the page's two statements; BELL.
    assert count(manager_client, overview) == one == 3 + 1 + BELL
    assert count(manager_client, page) == first == 3 + 3 + BELL
