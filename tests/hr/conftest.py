"""The HR workspace's cast: Harper (HR) signed in, a draft campaign to an AI team, and a few
more people so that audiences and queues have rows."""

from datetime import timedelta

import pytest
from django.utils import timezone

from assignments.services import create_campaign
from tests.conftest import make_person

ROLE = (
    "Build and evaluate the internal assistants' test sets. About 40% of the first three "
    "months is labelling model outputs, falling to 10% after that. Same grade and pay."
)


@pytest.fixture
def hr_client(client, hr_user):
    client.force_login(hr_user)
    return client


@pytest.fixture
def sam(platform, manager):
    return make_person("sam@example.test", "Sam Second", platform, manager=manager)


@pytest.fixture
def pat(payments):
    return make_person("pat@example.test", "Pat Payments", payments, external_id="E-PAT")


@pytest.fixture
def campaign(hr_user, ai_team):
    return create_campaign(
        actor=hr_user,
        target_teams=[ai_team],
        name="Applied AI task force",
        description="We staff a task force for internal AI assistants. Saying no costs nothing.",
        role_description=ROLE,
        data_labelling_percent=40,
        start_date=timezone.localdate() + timedelta(days=30),
        response_working_days=10,
        accountable_owner="Dana Director, VP Engineering",
        assessment_kind="works_council",
        assessment_reference="WC-2026-014",
    )


# The Playwright set-up of tests/web (the system's /usr/bin/chromium, screenshots, signing in
# through a real session cookie), for tests/hr/test_browser.py.
from tests.web.conftest import (  # noqa: E402, F401
    browser_type_launch_args,
    screenshot_dir,
    sign_in,
)
