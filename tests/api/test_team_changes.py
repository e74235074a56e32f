"""Team changes over REST keep the consent rule SCIM keeps: between regular teams they are
audited administrative changes; into or out of an AI initiative they are refused (409, pointing
to the proposal API) and change nothing; a team with people never becomes an AI initiative."""

import pytest

from people.models import Team, TeamChange
from tests.api.conftest import key_client
from tests.conftest import make_person

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def test_a_change_between_regular_teams_is_audited_with_who_when_and_which_client(
    employee, payments
):
    client, key, _ = key_client("org:read", "org:write", name="Workday sync")
    response = client.patch(
        f"/api/v1/employees/{employee.pk}/", {"team": "payments"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["team"] == "payments"
    employee.refresh_from_db()
    assert employee.team == payments
    [change] = TeamChange.objects.all()
    assert (change.from_team.slug, change.to_team, change.client_name, change.api_key) == (
        "platform",
        payments,
        "Workday sync",
        key,
    )
    assert change.actor == key.service_user and change.at is not None
    listed = client.get(f"/api/v1/employees/{employee.pk}/team-changes/").json()["results"]
    assert [(c["from_team"], c["to_team"], c["client_name"]) for c in listed] == [
        ("platform", "payments", "Workday sync")
    ]


def test_the_same_team_again_records_nothing(employee):
    client, _, _ = key_client("org:write")
    response = client.patch(
        f"/api/v1/employees/{employee.pk}/", {"team": "platform"}, format="json"
    )
    assert response.status_code == 200 and not TeamChange.objects.exists()


def test_nobody_is_put_into_an_ai_initiative_over_rest(employee, ai_team):
    client, _, _ = key_client("org:write")
    response = client.patch(
        f"/api/v1/employees/{employee.pk}/", {"team": ai_team.slug}, format="json"
    )
    assert response.status_code == 409 and response["Content-Type"] == PROBLEM
    body = response.json()
    assert "POST /api/v1/proposals/" in body["detail"] and body["proposals"] == "/api/v1/proposals/"
    assert body["type"].endswith("/consent-required")
    employee.refresh_from_db()
    assert employee.team.slug == "platform" and not TeamChange.objects.exists()


def test_nobody_is_taken_out_of_an_ai_initiative_over_rest(ai_team, platform):
    sam = make_person("sam@example.test", "Sam", ai_team)  # imported already in the team
    client, _, _ = key_client("org:write")
    for target in ("platform", None):
        response = client.patch(f"/api/v1/employees/{sam.pk}/", {"team": target}, format="json")
        assert response.status_code == 409, response.content
        assert "undraft" in response.json()["detail"]
    sam.refresh_from_db()
    assert sam.team == ai_team and not TeamChange.objects.exists()


def test_profile_fields_are_refused_by_name_not_ignored(employee):
    client, _, _ = key_client("org:write")
    response = client.patch(
        f"/api/v1/employees/{employee.pk}/", {"team": "payments", "name": "X"}, format="json"
    )
    assert response.status_code == 400 and "SCIM" in str(response.json()["errors"]["name"])
    employee.refresh_from_db()
    assert employee.team.slug == "platform" and employee.name == "Eve Employee"
    unknown = client.patch(f"/api/v1/employees/{employee.pk}/", {"team": "nope"}, format="json")
    assert unknown.status_code == 400 and "team" in unknown.json()["errors"]


def test_changes_need_org_write_and_a_reader_changes_nothing(employee, payments, platform):
    reader, _, _ = key_client("org:read")
    refused = reader.patch(f"/api/v1/employees/{employee.pk}/", {"team": "payments"}, format="json")
    assert refused.status_code == 403 and "org:write" in refused.json()["detail"]
    kind = reader.patch(f"/api/v1/teams/{payments.pk}/", {"kind": "ai_initiative"}, format="json")
    assert kind.status_code == 403
    employee.refresh_from_db()
    payments.refresh_from_db()
    assert employee.team == platform and payments.kind == Team.Kind.REGULAR
    assert not TeamChange.objects.exists()


def test_a_signed_in_person_who_is_not_hr_cannot_change_teams(client, employee, manager):
    client.force_login(manager.user)
    response = client.patch(
        f"/api/v1/employees/{employee.pk}/", {"team": "payments"}, content_type="application/json"
    )
    assert response.status_code == 403
    client.force_login(employee.user)
    assert (
        client.patch(
            f"/api/v1/employees/{manager.pk}/",  # not hers to see: 404
            {"team": "payments"},
            content_type="application/json",
        ).status_code
        == 404
    )
    assert not TeamChange.objects.exists()


def test_hr_in_the_browser_changes_a_team_as_an_audited_session_change(
    client, employee, payments, hr_user
):
    client.force_login(hr_user)
    response = client.patch(
        f"/api/v1/employees/{employee.pk}/", {"team": "payments"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    [change] = TeamChange.objects.all()
    assert (change.actor, change.api_key, change.client_name) == (
        hr_user,
        None,
        "REST API (session)",
    )


def test_a_team_with_people_never_becomes_an_ai_initiative(employee, platform):
    client, _, _ = key_client("org:read", "org:write")
    response = client.patch(
        f"/api/v1/teams/{platform.pk}/",
        {"kind": "ai_initiative", "name": "Renamed"},
        format="json",
    )
    assert response.status_code == 409 and response["Content-Type"] == PROBLEM
    assert "retroactive confirmations" in response.json()["detail"]
    platform.refresh_from_db()
    assert platform.kind == Team.Kind.REGULAR and platform.name == "Platform"  # nothing written


def test_an_empty_team_becomes_an_ai_initiative_and_back(db):
    empty = Team.objects.create(name="Labs", slug="labs")
    client, _, _ = key_client("org:write")
    made = client.patch(
        f"/api/v1/teams/{empty.pk}/",
        {"kind": "ai_initiative", "headcount_target": 12},
        format="json",
    )
    assert made.status_code == 200, made.content
    assert (made.json()["kind"], made.json()["headcount_target"]) == ("ai_initiative", 12)
    back = client.patch(f"/api/v1/teams/{empty.pk}/", {"kind": "regular"}, format="json")
    assert back.status_code == 200 and back.json()["kind"] == "regular"
    bad = client.patch(f"/api/v1/teams/{empty.pk}/", {"kind": "secret"}, format="json")
    assert bad.status_code == 400 and "kind" in bad.json()["errors"]


def test_the_schema_documents_the_changes_their_scope_and_the_409(client):
    schema = client.get("/api/schema/?format=json").json()
    employee = schema["paths"]["/api/v1/employees/{id}/"]["patch"]
    team = schema["paths"]["/api/v1/teams/{id}/"]["patch"]
    for operation in (employee, team):
        assert {"apiKey": ["org:write"]} in operation["security"]
        assert {"200", "400", "403", "404", "409"} <= set(operation["responses"])
    assert "/api/v1/employees/{id}/team-changes/" in schema["paths"]
