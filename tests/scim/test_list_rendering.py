"""A list page serves each resource's payload as it is, without building and dumping a
scim2-models resource per person (most of a page's cost). These tests hold that shortcut to
what scim2-models itself writes, for people and teams of every shape."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scim2_models import Context, SearchRequest

from people.models import Employee, Team
from people.scim import store
from people.scim.resources import GroupResource, UserResource
from tests.conftest import make_person
from tests.scim.conftest import ENTERPRISE, GROUP, USER

pytestmark = pytest.mark.django_db

BASE = "http://testserver/scim/v2"
TEAM = "urn:consent-portal:scim:schemas:extension:team:2.0:Group"


def _scim_writes_them(model, resources) -> dict:
    request = SearchRequest[model].model_validate({}, scim_ctx=Context.SEARCH_REQUEST)
    return {
        r.id: r.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=request)
        for r in resources
    }


@pytest.fixture
def everyone(scim, platform, ai_team):
    # People the portal knew before any SCIM write: with a publishable email or a
    # placeholder one, with or without a team, a manager, a language; one deactivated.
    boss = make_person("boss@example.com", "Bo Boss", platform, title="Head", language="de")
    make_person("eve@example.test", "Eve Placeholder", None, manager=boss)
    make_person("ina@example.com", "Ina Inactive", ai_team, is_active=False)
    # People an HRIS wrote, with the verbatim attributes the portal keeps.
    rich = {
        "schemas": [USER, ENTERPRISE],
        "userName": "rich@hris.example.com",
        "externalId": "W-1",
        "name": {"givenName": "Rita", "familyName": "Rich", "formatted": "Rita Rich"},
        "displayName": "Rita Rich",
        "nickName": "Ri",
        "title": "Engineer",
        "preferredLanguage": "en",
        "locale": "en-GB",
        "timezone": "Europe/Berlin",
        "active": True,
        "emails": [
            {"value": "rich@hris.example.com", "type": "work", "primary": True},
            {"value": "rita@home.example.com", "type": "home"},
        ],
        "phoneNumbers": [{"value": "+1-555-555-8377", "type": "work"}],
        "addresses": [{"streetAddress": "1 Main St", "locality": "Berlin", "type": "work"}],
        "roles": [{"value": "engineer", "primary": True}],
        "password": "never read back",
        ENTERPRISE: {
            "employeeNumber": "E-77",
            "costCenter": "CC-1",
            "organization": "Acme",
            "division": "R&D",
            "department": "platform",
            "manager": {"value": str(boss.pk)},
        },
    }
    plain = {"schemas": [USER], "userName": "plain-user"}
    leaver = {"schemas": [USER], "userName": "leaver@hris.example.com", "active": False}
    for body in (rich, plain, leaver):
        response = scim.post("Users", body)
        assert response.status_code == 201, response.content
    group = {
        "schemas": [GROUP, TEAM],
        "displayName": "Search",
        "externalId": "G-1",
        "members": [{"value": str(boss.pk), "display": "Bo Boss"}],
        TEAM: {"headcountTarget": 5, "description": "Finds things"},
    }
    assert scim.post("Groups", group).status_code == 201
    return Employee.objects.count()


def test_a_users_page_is_what_scim2_models_writes_for_each_person(scim, everyone):
    page = scim.get("Users?count=1000").json()
    served = {r["id"]: r for r in page["Resources"]}
    expected = _scim_writes_them(UserResource, [store.as_user(e, BASE) for e in store.people()])
    assert len(served) == everyone >= 6
    assert served == expected
    assert all("password" not in r for r in served.values())
    # The rich one really carried its verbatim attributes through.
    rich = next(r for r in served.values() if r["userName"] == "rich@hris.example.com")
    assert rich["phoneNumbers"] == [{"value": "+1-555-555-8377", "type": "work"}]
    assert rich[ENTERPRISE]["manager"]["value"]


def test_a_groups_page_is_what_scim2_models_writes_for_each_team(scim, everyone):
    served = {r["id"]: r for r in scim.get("Groups?count=1000").json()["Resources"]}
    expected = _scim_writes_them(GroupResource, [store.as_group(t, BASE) for t in store.teams()])
    assert len(served) == Team.objects.count() >= 3
    assert served == expected


def test_a_page_reads_as_each_resource_does_alone_etag_included(scim, everyone):
    for row in scim.get("Users?count=1000").json()["Resources"]:
        alone = scim.get(f"Users/{row['id']}")
        assert alone.json() == row
        assert alone.headers["ETag"] == row["meta"]["version"]


def test_asking_for_some_attributes_still_goes_through_scim2_models(scim, everyone):
    page = scim.get("Users?count=1000&attributes=userName").json()
    assert page["Resources"] and all(
        set(r) <= {"schemas", "id", "userName"} for r in page["Resources"]
    )


def test_a_page_costs_the_same_queries_however_many_people_are_on_it(scim, everyone, platform):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(count):
        with CaptureQueriesContext(connection) as captured:
            assert scim.get(f"Users?count={count}").status_code == 200
        return len(captured)

    one = queries(1)
    for n in range(20):
        make_person(f"more{n}@example.com", f"More {n}", platform)
    assert queries(1000) == one


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(), _JSON, max_size=6))
def test_a_version_is_written_from_the_bytes_json_writes(payload):
    """ETags given out before the faster writer stay valid: the same bytes, whatever the
    text (quotes, escapes, non-ASCII) or the numbers (payloads hold no floats)."""
    import json

    expected = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    assert store._canonical(payload) == expected.encode()


def test_a_page_is_written_byte_for_byte_as_drf_writes_it(scim, everyone, platform):
    from rest_framework.renderers import JSONRenderer

    from people.scim.views import ScimRenderer

    make_person("jose@example.com", 'José "Pepe" Núñez', platform, title="Line\u2028break")
    page = scim.get("Users?count=1000")
    data = page.json()
    assert any("\u2028" in (r.get("title") or "") for r in data["Resources"])
    assert page.content == ScimRenderer().render(data) == JSONRenderer().render(data)
    error = scim.get("Users/nobody").json()
    assert ScimRenderer().render(error) == JSONRenderer().render(error)
