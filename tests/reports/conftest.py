"""The dashboards' cast: Harper (HR) and Morgan (a manager) signed in, campaigns filled with
people in every state, and a second database alias, `replica`, that points at the test
database, so tests can prove which alias the dashboards read from."""

import itertools
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections
from django.utils import timezone

from assignments.models import Campaign, PlacementRequest, Proposal
from people.models import Employee, Team

# A second connection to the test database, as a streaming replica is to the primary (TEST
# MIRROR), known to Django's connection handler for the whole session: pytest-django creates
# the test databases after collection, so adding it here, at import, is early enough. It is
# *not* in settings.DATABASES, so the dashboards keep reading the primary in every other test
# (reports.routers.replica_alias); `replica_configured` puts it there, as DATABASE_REPLICA_URL
# does in production.
REPLICA = {
    **connections.settings["default"],
    "TEST": {**connections.settings["default"]["TEST"], "MIRROR": "default"},
}
if "replica" not in connections.settings:
    connections.settings = {**connections.settings, "replica": REPLICA}


@pytest.fixture
def replica_configured(monkeypatch):
    """settings.DATABASES names the replica, as with DATABASE_REPLICA_URL set."""
    monkeypatch.setitem(settings.DATABASES, "replica", connections.settings["replica"])
    return "replica"


State = Proposal.State
_numbers = itertools.count(1)


@pytest.fixture
def hr_client(client, hr_user):
    client.force_login(hr_user)
    return client


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager.user)
    return client


@pytest.fixture
def destination(db):
    return Team.objects.create(
        name="Applied AI", slug="applied-ai-dest", kind=Team.Kind.AI_INITIATIVE
    )


def make_campaign(hr_user, name="Applied AI task force") -> Campaign:
    n = next(_numbers)
    return Campaign.objects.create(
        name=name,
        slug=f"campaign-{n}",
        description="Staffing the AI initiative; 30% data labelling.",
        created_by=hr_user,
        state="sent",
        accountable_owner="Dana Director",
        assessment_reference="WC-1",
    )


@pytest.fixture
def campaign(hr_user):
    return make_campaign(hr_user)


def add_people(campaign, destination, rows, *, manager=None, proposer=None):
    """Fill a campaign: each row is (team, title, outcome[, count]) with outcome one of
    CATEGORIES. Rows are written directly (like the bench seeder), not through the services:
    these tests are about counting, and the services have their own tests."""
    now = timezone.now()
    User = get_user_model()
    proposer = proposer or campaign.created_by
    created = []
    for row in rows:
        team, title, outcome, count = (*row, 1) if len(row) == 3 else row
        for _ in range(count):
            n = next(_numbers)
            user = User.objects.create_user(username=f"p{n}@x.test", email=f"p{n}@x.test")
            employee = Employee.objects.create(
                user=user, name=f"Person {n:05d}", email=f"p{n}@x.test", title=title,
                team=team, manager=manager,
            )  # fmt: skip
            created.append(_proposal(campaign, destination, employee, outcome, proposer, now, n))
    return created


def _proposal(campaign, destination, employee, outcome, proposer, now, n):
    kind = Proposal.Kind.RETROACTIVE if outcome == "no_consent" else Proposal.Kind.TRANSFER
    state = {
        "pending": State.PENDING,
        "opted_in": State.OPTED_IN,
        "effective": State.EFFECTIVE,
        "undrafted": State.EFFECTIVE,
        "opted_out": State.OPTED_OUT,
        "expired": State.EXPIRED,
        "no_consent": State.EXPIRED,
        "withdrawn": State.WITHDRAWN,
    }[outcome]
    created_at = now - timedelta(days=10, hours=n % 7)
    proposal = Proposal.objects.create(
        employee=employee,
        from_team=employee.team,
        to_team=employee.team if kind == Proposal.Kind.RETROACTIVE else destination,
        proposed_by=proposer,
        campaign=campaign,
        kind=kind,
        role_description="Evaluate models; 30% data labelling.",
        start_date=(now + timedelta(days=20)).date(),
        response_deadline=now + timedelta(days=1 + n % 5) if state == State.PENDING else now,
        state=state,
        terms_sha256=f"{n:064x}",
        created_at=created_at,
        decided_at=None if state == State.PENDING else created_at + timedelta(days=1 + n % 3),
    )
    if outcome == "undrafted":
        PlacementRequest.objects.create(employee=employee, source_proposal=proposal)
    return proposal


# The Playwright set-up of tests/web (the system's /usr/bin/chromium, screenshots, signing in
# through a real session cookie), for tests/reports/test_browser.py.
from tests.web.conftest import (  # noqa: E402, F401
    browser_type_launch_args,
    screenshot_dir,
    sign_in,
)
