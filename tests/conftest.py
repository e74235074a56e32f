"""The cast every test can use: a manager, Eve on her team, an outsider and an HR partner."""

import tempfile
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone, translation

from assignments.deadlines import minimum_deadline
from assignments.services import propose_transfer
from consent.services import RequestContext
from people.models import Employee, Team
from people.roles import HR_GROUP
from tests.assignments.helpers import ROLE

WEB = RequestContext(ip_address="203.0.113.7", user_agent="pytest-browser/1.0")
_CHECK_LOG_DIR = tempfile.mkdtemp(prefix="consent-check-log-")


@pytest.fixture(autouse=True)
def _fast_and_quiet(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Clock tests travel days ahead with a signed-in client: no idle sign-out here. The idle
    # sign-out has its own tests (tests/security/test_sessions.py), which set the limit back.
    settings.PORTAL_SESSION_IDLE_MINUTES = 10**6
    # Consent checks are spooled under the test run's own directory, and counted only when a
    # test asks (datause.checklog.flush): a flusher thread would see no test's rows.
    settings.PORTAL_CHECK_LOG_DIR = _CHECK_LOG_DIR
    settings.PORTAL_CHECK_LOG_FLUSH_SECONDS = 0


@pytest.fixture(autouse=True)
def _each_test_starts_in_english():
    """A request's LocaleMiddleware leaves its language active in the thread; a test that asked
    for German pages must not make the next test read German."""
    yield
    translation.deactivate()


def clear_cache_entries():
    """Empty Django's cache (rate-limit counters, throttles) and nothing else in its Redis
    database: cache.clear() is a FLUSHDB there, which also drops api.coherence's registry, and
    this process' consent-check and key caches then stay cold until their listener registers
    again (a test right after would see queries where a warm cache makes none)."""
    from django.core.cache import cache

    if not hasattr(cache, "_cache") or not hasattr(cache._cache, "get_client"):
        cache.clear()  # not Redis: nothing else lives there
        return
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=cache.make_key("*"), count=1000))
    if keys:
        client.delete(*keys)


def make_person(email, name, team, manager=None, **extra):
    user = get_user_model().objects.create_user(username=email, email=email, password="pw")
    return Employee.objects.create(
        user=user, name=name, email=email, team=team, manager=manager, **extra
    )


@pytest.fixture
def platform(db):
    return Team.objects.create(name="Platform", slug="platform")


@pytest.fixture
def ai_team(db):
    return Team.objects.create(name="Applied AI", slug="applied-ai", kind=Team.Kind.AI_INITIATIVE)


@pytest.fixture
def payments(db):
    return Team.objects.create(name="Payments", slug="payments")


@pytest.fixture
def manager(platform):
    return make_person("morgan@example.test", "Morgan Manager", platform)


@pytest.fixture
def employee(platform, manager):
    return make_person("eve@example.test", "Eve Employee", platform, manager=manager)


@pytest.fixture
def outsider(payments):
    return make_person("oscar@example.test", "Oscar Outsider", payments)


@pytest.fixture
def hr_user(db):
    user = get_user_model().objects.create_user(
        username="harper@example.test", email="harper@example.test", password="pw"
    )
    user.groups.add(Group.objects.get_or_create(name=HR_GROUP)[0])
    return user


@pytest.fixture
def deadline():
    return minimum_deadline() + timedelta(hours=1)


@pytest.fixture
def start_date(deadline):
    return timezone.localdate(deadline) + timedelta(days=14)


@pytest.fixture
def proposal(employee, manager, ai_team, deadline, start_date):
    return propose_transfer(
        employee=employee,
        to_team=ai_team,
        actor=manager.user,
        role_description=ROLE,
        data_labelling_percent=40,
        start_date=start_date,
        response_deadline=deadline,
    )


def pytest_collection_modifyitems(config, items):
    """`make test` hands whole files to two workers in collection order (pytest-xdist's
    loadfile, with its own reordering by test count turned off): files with a long test
    (marked slow) go first, so that no worker is still
    running one when the other has nothing left. The order inside each file is kept."""
    long_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in long_files)
