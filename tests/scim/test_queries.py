"""Listing Users and Groups: filters, sorting and paging as RFC 7644 §3.4.2 describes them."""

from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.scim.conftest import ENTERPRISE, GROUP, assert_scim_error, new_user

pytestmark = pytest.mark.django_db

PEOPLE = [
    ("alice@example.com", "Alice Archer", "Engineer", "E-1"),
    ("bob@example.com", "Bob Baker", "Designer", "E-2"),
    ("carol@example.com", "Carol Cole", "Engineer", "E-3"),
    ("dave@example.com", "Dave Dunn", None, "E-4"),
]


@pytest.fixture
def provisioned(scim):
    ids = {}
    for user_name, name, title, number in PEOPLE:
        body = new_user(
            user_name,
            displayName=name,
            name={"givenName": name.split()[0], "familyName": name.split()[1]},
            externalId=f"hris-{number}",
            nickName=name.split()[0].lower(),
            emails=[{"value": user_name, "type": "work", "primary": True}],
            **{ENTERPRISE: {"employeeNumber": number}},
        )
        if title:
            body["title"] = title
        ids[user_name] = scim.post("Users", body).json()["id"]
    return ids


def user_names(scim, query: str) -> list[str]:
    response = scim.get(f"Users?{query}")
    assert response.status_code == 200, response.json()
    return [r["userName"] for r in response.json()["Resources"]]


def where(expression: str) -> str:
    return "filter=" + quote(expression)


@pytest.mark.parametrize(
    "expression, expected",
    [
        ('userName eq "BOB@example.com"', ["bob@example.com"]),  # values: case-insensitive
        ('USERNAME Eq "bob@example.com"', ["bob@example.com"]),  # names too
        ('displayName co "ar"', ["alice@example.com", "carol@example.com"]),
        ('userName sw "c"', ["carol@example.com"]),
        ("title pr", ["alice@example.com", "bob@example.com", "carol@example.com"]),
        ('title eq "Engineer" and displayName sw "c"', ["carol@example.com"]),
        (
            'title eq "Designer" or userName eq "dave@example.com"',
            ["bob@example.com", "dave@example.com"],
        ),
        (f'{ENTERPRISE}:employeeNumber eq "E-3"', ["carol@example.com"]),
        ('externalId eq "hris-E-2"', ["bob@example.com"]),
        ('externalId eq "HRIS-E-2"', []),  # externalId is case-exact
        ('name.familyName sw "co"', ["carol@example.com"]),
        ('meta.lastModified gt "2000-01-01T00:00:00Z" and userName sw "a"', ["alice@example.com"]),
        ('id eq "not-a-number"', []),
        # Attributes the portal keeps verbatim are filtered on the resources themselves.
        ('nickName eq "ALICE"', ["alice@example.com"]),
        ('emails[type eq "work" and value co "dave"]', ["dave@example.com"]),
        ('title eq "Engineer" and nickName sw "c"', ["carol@example.com"]),
        ("not (title pr)", ["dave@example.com"]),
    ],
)
def test_filters(scim, provisioned, expression, expected):
    assert user_names(scim, where(expression)) == expected


def test_an_invalid_filter_is_a_scim_error(scim, provisioned):
    assert_scim_error(scim.get("Users?" + where("userName eq")), 400, "invalidFilter")
    assert_scim_error(scim.get("Users?" + where('shoeSize eq "9"')), 400, "invalidFilter")


def test_sorting_by_a_column_and_by_a_kept_attribute(scim, provisioned):
    assert user_names(scim, "sortBy=userName&sortOrder=descending") == [
        "dave@example.com",
        "carol@example.com",
        "bob@example.com",
        "alice@example.com",
    ]
    # Dave has no title: last when ascending, first when descending.
    assert user_names(scim, "sortBy=title")[-1] == "dave@example.com"
    assert user_names(scim, "sortBy=title&sortOrder=descending")[0] == "dave@example.com"
    assert user_names(scim, "sortBy=nickName&sortOrder=descending")[0] == "dave@example.com"


def test_paging_with_start_index_and_count(scim, provisioned):
    page = scim.get("Users?sortBy=userName&startIndex=2&count=2").json()
    assert (page["totalResults"], page["itemsPerPage"], page["startIndex"]) == (4, 2, 2)
    assert [r["userName"] for r in page["Resources"]] == ["bob@example.com", "carol@example.com"]
    only_count = scim.get("Users?count=0").json()
    assert only_count["totalResults"] == 4 and only_count["Resources"] == []
    walked = []
    for start in range(1, 6, 2):
        walked += [
            r["id"] for r in scim.get(f"Users?startIndex={start}&count=2").json()["Resources"]
        ]
    assert sorted(walked, key=int) == sorted(provisioned.values(), key=int)


def test_attributes_and_excluded_attributes(scim, provisioned):
    only = scim.get("Users?attributes=userName&count=1").json()["Resources"][0]
    assert set(only) == {"schemas", "id", "userName"}
    without = scim.get("Users?excludedAttributes=emails,nickName&count=1").json()["Resources"][0]
    assert "emails" not in without and "nickName" not in without and "userName" in without


def test_search_with_post(scim, provisioned):
    found = scim.post(
        "Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'title eq "engineer"',
            "sortBy": "userName",
            "attributes": ["userName"],
        },
    )
    assert found.status_code == 200, found.json()
    assert [r["userName"] for r in found.json()["Resources"]] == [
        "alice@example.com",
        "carol@example.com",
    ]


def test_groups_by_name_and_by_member(scim, provisioned, platform):
    alice = provisioned["alice@example.com"]
    scim.post(
        "Groups", {"schemas": [GROUP], "displayName": "Analytics", "members": [{"value": alice}]}
    )
    names = scim.get("Groups?" + where('displayName eq "analytics"')).json()["Resources"]
    assert [g["displayName"] for g in names] == ["Analytics"]
    with_alice = scim.get("Groups?" + where(f'members.value eq "{alice}"')).json()["Resources"]
    assert [g["displayName"] for g in with_alice] == ["Analytics"]
    assert user_names(scim, where(f'groups.value eq "{with_alice[0]["id"]}"')) == [
        "alice@example.com"
    ]


@pytest.mark.parametrize("people", [1, 5])
def test_a_page_of_users_costs_the_same_queries_whatever_its_size(scim, people):
    for n in range(people):
        scim.post("Users", new_user(f"person{n}@example.com"))
    scim.get("Users")  # the key's last-used stamp is written at most once a minute
    with CaptureQueriesContext(connection) as queries:
        assert scim.get("Users").status_code == 200
    # The API key; the total and the page in one statement (people, accounts, teams and SCIM
    # records joined), from people.ScimTally.
    assert len(queries) == 2, [q["sql"] for q in queries]


@pytest.mark.parametrize("teams", [1, 5])
def test_a_page_of_groups_costs_the_same_queries_whatever_its_size(scim, teams, employee):
    for n in range(teams):
        scim.post("Groups", {"schemas": [GROUP], "displayName": f"Team {n}"})
    scim.get("Groups")
    with CaptureQueriesContext(connection) as queries:
        assert scim.get("Groups").status_code == 200
    # The API key, the total, the page (teams and SCIM records joined), their members.
    assert len(queries) == 4, [q["sql"] for q in queries]


@pytest.mark.parametrize(
    "expression",
    [
        'emails.value eq "bob@example.com"',
        'emails[type eq "work" and value sw "CAROL"]',
        'emails co "example" and not (title pr)',
        'nickName eq "alice" or nickName eq "bob"',
        'timezone eq "UTC"',
        'displayName co "e" and emails[value ew ".test"]',
        'phoneNumbers pr or userName sw "eve"',
        f'{ENTERPRISE}:department eq "platform"',
        'meta.resourceType eq "User"',
    ],
)
def test_sql_narrowing_never_changes_the_answer(provisioned, employee, expression):
    """Whatever part SQL takes, the answer is what scim2-models finds on every resource."""
    from scim2_models import Context, SearchRequest

    from people.scim import query, store

    request = SearchRequest[store.UserResource].model_validate(
        {"filter": expression, "count": 1000}, scim_ctx=Context.SEARCH_REQUEST
    )
    everyone = [store.as_user(e, "http://testserver/scim/v2") for e in store.people()]
    expected = sorted(r.id for r in everyone if request.filter.match(r))
    found = query.search("Users", request, "http://testserver/scim/v2")
    assert sorted(r["id"] for r in found.documents) == expected
    assert found.total == len(expected)
