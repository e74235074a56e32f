"""Browser-page fixtures: signed-in clients, a retroactive confirmation, and Playwright setup.

The Playwright tests drive the system's /usr/bin/chromium (never a downloaded browser)
against pytest-django's live_server. Playwright's sync API runs an event loop in the test
thread, so Django's async-safety check must be told that the synchronous ORM calls made by
the tests themselves are fine.
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from assignments.services import propose_retroactive_confirmation
from tests.assignments.helpers import describe

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def screenshot_dir():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def eve_client(client, employee):
    client.force_login(employee.user)
    return client


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager.user)
    return client


@pytest.fixture
def confirmation(employee, payments, hr_user, deadline):
    """Eve was moved from Payments to Platform by memo before the portal existed."""
    return propose_retroactive_confirmation(
        employee=employee,
        previous_team=payments,
        actor=hr_user,
        role_description=describe("You were moved here by memo in March. 30% data labelling."),
        data_labelling_percent=30,
        moved_on=timezone.localdate() - timedelta(days=200),
        response_deadline=deadline,
    )


@pytest.fixture
def sign_in(live_server, browser):
    """A fresh browser context signed in as `user` through a real session cookie.

    The sign-in form itself is driven once, in the three-clicks test; the others skip it to
    keep the suite fast.
    """
    from django.conf import settings as django_settings
    from django.test import Client

    contexts = []

    def _sign_in(user, **context_args):
        client = Client()
        client.force_login(user)
        context = browser.new_context(**context_args)
        context.add_cookies(
            [
                {
                    "name": django_settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )
        contexts.append(context)
        return context.new_page()

    yield _sign_in
    for context in contexts:
        context.close()
