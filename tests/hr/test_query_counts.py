"""Every HR page runs a fixed number of queries, however many rows it shows: the same for one
row as for five (and so the same at 10,000 employees as at 100,000)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assignments.models import PlacementRequest
from assignments.services import (
    choose_audience,
    create_campaign,
    opt_out,
    propose_retroactive_confirmation,
    send_campaign,
    start_leave,
)
from people.models import Team
from tests.conftest import WEB, make_person
from tests.hr.conftest import ROLE

pytestmark = pytest.mark.django_db

# Every page: the session, the user, the person's zone and language (middleware), the HR
# check, and the header's unread-notifications count.
BASE = 5


def count(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
        assert response.status_code == 200, path
    return len(queries)


def people(n, offset, hr_user, ai_team):
    """n more people, each in their own small team, each with a sent campaign, a placement
    request and a leave."""
    for i in range(offset, offset + n):
        team = Team.objects.create(name=f"Team {i}", slug=f"team-{i}", headcount_target=3)
        person = make_person(f"p{i}@example.test", f"Person {i}", team)
        drive = create_campaign(
            actor=hr_user,
            target_teams=[ai_team],
            name=f"Drive {i}",
            description="Honest words about the work.",
            role_description=ROLE,
            data_labelling_percent=10,
            start_date=timezone.localdate() + timedelta(days=40),
            response_working_days=10,
            accountable_owner="Dana",
            assessment_reference="WC-1",
        )
        choose_audience(
            campaign=drive, employees=[person], to_team=ai_team, label="x", actor=hr_user
        )
        send_campaign(campaign=drive, actor=hr_user)
        confirmation = propose_retroactive_confirmation(
            employee=person,
            previous_team=ai_team,
            actor=hr_user,
            role_description=ROLE,
            moved_on=timezone.localdate() - timedelta(days=100),
            response_deadline=timezone.now() + timedelta(days=14),
        )
        opt_out(
            proposal=confirmation, actor=person.user, context=WEB, team_preferences=[team, ai_team]
        )
        start_leave(employee=person, actor=hr_user)


PAGES = {
    # campaigns by state; the queue (open, offered, oldest wait); people on leave
    "/hr/": BASE + 3,
    # the paginator's count; the page of campaigns with their proposal counts
    "/hr/campaigns/": BASE + 2,
    # the paginator's count; the page of requests (person, team and source joined); their
    # preferences with teams; their open offers; the open seats of every preferred team; the
    # access-log entries of everyone shown (one INSERT)
    "/hr/placements/": BASE + 6,
    # the paginator's count; the page of people on leave with their teams
    "/hr/leave/": BASE + 2,
}


@pytest.mark.parametrize("path", PAGES)
def test_hr_lists_cost_the_same_for_one_row_or_five(hr_client, hr_user, ai_team, path):
    people(1, 0, hr_user, ai_team)
    assert count(hr_client, path) == PAGES[path]
    people(4, 1, hr_user, ai_team)
    assert PlacementRequest.objects.count() == 5
    assert count(hr_client, path) == PAGES[path]


def test_a_campaigns_pages_cost_the_same_for_one_person_or_fifty(hr_client, hr_user, ai_team):
    def drive_with(n):
        drive = create_campaign(
            actor=hr_user,
            target_teams=[ai_team],
            name=f"Drive of {n}",
            description="Honest words about the work.",
            role_description=ROLE,
            data_labelling_percent=10,
            start_date=timezone.localdate() + timedelta(days=40),
            response_working_days=10,
            accountable_owner="Dana",
            assessment_reference="WC-1",
        )
        teams = [Team.objects.create(name=f"T{n}-{t}", slug=f"t{n}-{t}") for t in range(3)]
        crowd = [
            make_person(f"c{n}-{i}@example.test", f"C {n} {i}", teams[i % 3]) for i in range(n)
        ]
        choose_audience(campaign=drive, employees=crowd, to_team=ai_team, label="x", actor=hr_user)
        return drive

    small, large = drive_with(1), drive_with(50)
    pages = ["/hr/campaigns/{}/", "/hr/campaigns/{}/preview/", "/hr/campaigns/{}/audience/"]
    for page in pages:
        assert count(hr_client, page.format(small.pk)) == count(hr_client, page.format(large.pk)), (
            page
        )
    for drive in (small, large):
        send_campaign(campaign=drive, actor=hr_user)
    for page in pages[:2] + ["/hr/campaigns/{}/progress/"]:
        assert count(hr_client, page.format(small.pk)) == count(hr_client, page.format(large.pk)), (
            page
        )
