"""Found (smaller): a deadline could be "extended" by a minute (a notice about nothing, and as
many as one liked); a proposal could be made for the year 9999; pages answered methods they
never meant. Each is now refused in words, and no page answers 500.
"""

from datetime import date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from assignments.models import Proposal
from assignments.services import create_campaign, extend_deadline, propose_transfer
from notifications.models import Notification
from tests.api.conftest import key_client
from tests.api.test_api import new_proposal
from tests.assignments.helpers import ROLE
from tests.conftest import make_person
from tests.web.test_manager_pages import propose_data

pytestmark = pytest.mark.django_db
FAR = date(9999, 12, 31)


def _extended_notices(employee) -> int:
    return Notification.objects.filter(
        recipient=employee.user, kind=Notification.Kind.DEADLINE_EXTENDED
    ).count()


# --- the minimum extension step -------------------------------------------------------------


def test_a_deadline_moves_by_at_least_a_day_with_one_notice_per_change(proposal, manager):
    employee, before = proposal.employee, proposal.response_deadline
    with pytest.raises(ValidationError, match="by at least a day"):
        extend_deadline(
            proposal=proposal,
            actor=manager.user,
            new_deadline=before + timedelta(minutes=1),
            reason="A little more time.",
        )
    proposal.refresh_from_db()
    assert proposal.response_deadline == before and _extended_notices(employee) == 0

    later = before + timedelta(days=1)
    extend_deadline(proposal=proposal, actor=manager.user, new_deadline=later, reason="A day.")
    assert _extended_notices(employee) == 1
    with pytest.raises(ValidationError):  # the same change again (a double submit)
        extend_deadline(proposal=proposal, actor=manager.user, new_deadline=later, reason="A day.")
    assert _extended_notices(employee) == 1


# --- the horizon ----------------------------------------------------------------------------


def _propose(employee, manager, ai_team, **dates):
    return propose_transfer(
        employee=employee,
        to_team=ai_team,
        actor=manager.user,
        role_description=ROLE,
        data_labelling_percent=40,
        **dates,
    )


def test_the_service_refuses_dates_beyond_the_horizon(employee, manager, ai_team, deadline):
    with pytest.raises(ValidationError, match="too far ahead") as refused:
        _propose(employee, manager, ai_team, start_date=FAR, response_deadline=deadline)
    assert "start_date" in refused.value.message_dict
    far_deadline = timezone.make_aware(datetime(9999, 12, 30, 12))
    with pytest.raises(ValidationError, match="too far ahead") as refused:
        _propose(employee, manager, ai_team, start_date=FAR, response_deadline=far_deadline)
    assert "response_deadline" in refused.value.message_dict
    assert not Proposal.objects.exists()


def test_the_horizon_is_a_setting(settings, employee, manager, ai_team, deadline):
    settings.PORTAL_MAX_HORIZON_DAYS = 30
    with pytest.raises(ValidationError, match="up to 30 days"):
        _propose(
            employee,
            manager,
            ai_team,
            start_date=timezone.localdate() + timedelta(days=31),
            response_deadline=deadline,
        )


def test_an_extension_beyond_the_horizon_is_refused(settings, proposal, manager):
    settings.PORTAL_MAX_HORIZON_DAYS = 30
    with pytest.raises(ValidationError, match="too far ahead"):
        extend_deadline(
            proposal=proposal,
            actor=manager.user,
            new_deadline=timezone.now() + timedelta(days=40),
            reason="Much more time.",
        )


def test_a_campaign_start_beyond_the_horizon_is_refused(hr_user, ai_team):
    with pytest.raises(ValidationError, match="too far ahead"):
        create_campaign(
            actor=hr_user,
            target_teams=[ai_team],
            name="Far away",
            description="A drive for the year 9999.",
            start_date=FAR,
        )


def test_the_database_refuses_a_year_9999_proposal(proposal):
    with pytest.raises(IntegrityError, match="within_horizon"), transaction.atomic():
        Proposal.objects.filter(pk=proposal.pk).update(start_date=FAR)


def test_the_propose_page_refuses_in_words(client, manager, employee, ai_team, deadline):
    client.force_login(manager.user)
    data = propose_data(employee, ai_team, deadline, start_date=FAR.isoformat())
    response = client.post("/team/propose/", data)
    assert response.status_code == 200
    assert "too far ahead" in response.content.decode()
    data = propose_data(
        employee,
        ai_team,
        deadline,
        start_date=FAR.isoformat(),
        response_deadline="9999-12-31T23:59",
    )
    response = client.post("/team/propose/", data)
    assert response.status_code == 200 and "too far ahead" in response.content.decode()
    assert not Proposal.objects.exists()


def test_the_extend_page_refuses_in_words(client, manager, proposal):
    client.force_login(manager.user)
    response = client.post(
        f"/team/proposals/{proposal.pk}/extend/",
        {"response_deadline": "9999-12-31T23:59", "reason": "Forever."},
    )
    assert response.status_code == 200 and "too far ahead" in response.content.decode()


def test_the_api_refuses_in_words(employee, ai_team, deadline):
    employee.external_id = "E-9999"
    employee.save(update_fields=["external_id"])
    api, _key, _secret = key_client("proposals:read", "proposals:write")
    body = new_proposal("E-9999", ai_team, deadline, FAR)
    response = api.post("/api/v1/proposals/", body, format="json")
    assert response.status_code == 400 and "too far ahead" in response.content.decode()
    assert not Proposal.objects.exists()


# --- methods ------------------------------------------------------------------------------

GET, POST, HEAD = "GET", "POST", "HEAD"
READ, FORM = {GET}, {GET, POST}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD")
DASHBOARDS = ("overview", "overview_export", "campaign", "campaign_export", "people")
DASHBOARDS += ("no_adverse", "purposes", "purposes_export", "purpose")

# What each page means to answer; every other method gets 405. A new page needs an entry.
MEANT = {
    "home": READ,
    "healthz": {GET, HEAD},
    "metrics": {GET, HEAD},
    "wellknown:jwks": READ,
    "people:set_language": {POST},
    "notifications:list": READ,
    "notifications:mark_read": {POST},
    "notifications:mark_all_read": {POST},
    "assignments:inbox": READ,
    "assignments:proposal": READ,
    "assignments:opt_in": FORM,
    "assignments:opt_out": FORM,
    "assignments:withdraw_consent": FORM,
    "assignments:undraft": FORM,
    "assignments:team_proposals": READ,
    "assignments:propose": FORM,
    "assignments:extend": FORM,
    "assignments:withdraw": FORM,
    "consent:receipt": READ,
    "consent:receipt_json": READ,
    "consent:receipt_jws": READ,
    "consent:terms": READ,
    **{
        f"privacy:{name}": READ
        for name in ("centre", "proposals", "decisions", "receipts", "notifications")
    },
    "privacy:access_log": READ,
    "privacy:export": READ,
    "datause:privacy": READ,
    "datause:opt_in": FORM,
    "datause:opt_out": FORM,
    "hr:start": READ,
    "hr:workspace": READ,
    "hr:campaigns": READ,
    "hr:campaign_new": FORM,
    "hr:campaign": READ,
    "hr:campaign_edit": FORM,
    "hr:campaign_audience": FORM,
    "hr:campaign_preview": READ,
    "hr:campaign_send": {POST},
    "hr:campaign_progress": READ,
    "hr:retroactive_import": FORM,
    "hr:placements": READ,
    "hr:offer_placement": FORM,
    "hr:leave": FORM,
    "hr:manager_suggestions": READ,
    "hr_purposes:purposes": READ,
    "hr_purposes:purpose_new": FORM,
    "hr_purposes:purpose": READ,
    "hr_purposes:purpose_next_version": {POST},
    "hr_purposes:purpose_edit": FORM,
    "hr_purposes:purpose_publish": {POST},
    **{f"{ns}:{name}": READ for ns in ("hr_dashboards", "team_dashboards") for name in DASHBOARDS},
}
# Libraries' and the API's own pages: Django's admin, allauth, DRF (tested in tests/api), SCIM.
NOT_PAGES = ("admin/", "accounts/", "api/", "scim/")
# Objects that do not exist: an allowed method then gets a 404, and changes nothing.
MISSING = {"int": 999_999, "slug": "no-such-thing", "string": "0" * 64}


def _pages(patterns=None, prefix="", namespace=""):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(n for n in (namespace, entry.namespace or "") if n)
            yield from _pages(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            if not route.startswith(NOT_PAGES):
                yield (f"{namespace}:{entry.name}" if namespace else entry.name), entry


def _url(name, entry) -> str:
    kwargs = {
        key: MISSING[type(converter).__name__.removesuffix("Converter").lower()]
        for key, converter in entry.pattern.converters.items()
    }
    return reverse(name, kwargs=kwargs)


@pytest.fixture
def everyone(platform):
    """An HR superuser who is also an employee and a manager: every page lets them in, so the
    method is what decides."""
    user = get_user_model().objects.create_superuser(
        username="root@example.test", email="root@example.test", password="pw"
    )
    from people.models import Employee

    boss = Employee.objects.create(user=user, name="Root", email=user.email, team=platform)
    make_person("report@example.test", "Report", platform, manager=boss)
    return user


def test_every_page_answers_only_the_methods_it_means(client, everyone):
    pages = dict(_pages())
    assert set(pages) == set(MEANT), "pages without an entry (or entries without a page)"
    client.force_login(everyone)
    wrong, errors, sent = [], [], 0
    for name, entry in sorted(pages.items()):
        url = _url(name, entry)
        for method in METHODS:
            response = client.generic(method, url)
            sent += 1
            if response.status_code >= 500:
                errors.append(f"{method} {url}: {response.status_code}")
            if method not in MEANT[name] and response.status_code != 405:
                wrong.append(f"{method} {url}: {response.status_code}, expected 405")
    print(f"{sent} requests to {len(pages)} pages")
    assert not errors and not wrong, "\n".join(errors + wrong)
