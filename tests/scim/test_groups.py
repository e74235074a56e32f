"""SCIM Groups are teams. Membership changes are audited administrative team changes, and
nobody enters or leaves an AI-initiative team that way."""

import pytest

from people.models import Employee, Team, TeamChange
from tests.conftest import make_person
from tests.scim.conftest import ENTERPRISE, GROUP, assert_scim_error

pytestmark = pytest.mark.django_db

TEAM = "urn:consent-portal:scim:schemas:extension:team:2.0:Group"


def group(name, *members, **extra):
    return {
        "schemas": [GROUP],
        "displayName": name,
        "members": [{"value": str(m.pk)} for m in members],
        **extra,
    }


def test_a_created_group_is_a_team_and_its_members_move_into_it(scim, employee, manager):
    created = scim.post(
        "Groups",
        group(
            "Data Platform",
            employee,
            manager,
            externalId="grp-77",
            **{TEAM: {"headcountTarget": 8}},
        ),
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    team = Team.objects.get(pk=body["id"])
    assert (team.name, team.slug, team.external_id, team.kind) == (
        "Data Platform",
        "data-platform",
        "grp-77",
        Team.Kind.REGULAR,
    )
    assert team.headcount_target == 8
    assert {m["value"] for m in body["members"]} == {str(employee.pk), str(manager.pk)}
    assert set(team.members.all()) == {employee, manager}
    assert TeamChange.objects.filter(to_team=team).count() == 2
    # The person's User shows the team in `groups`.
    groups = scim.get(f"Users/{employee.pk}").json()["groups"]
    assert [(g["value"], g["display"]) for g in groups] == [(str(team.pk), "Data Platform")]


def test_the_answer_to_a_create_is_what_reading_it_back_gives(scim, employee, manager):
    created = scim.post("Groups", group("Data Platform", employee, manager, externalId="g-1"))
    assert created.status_code == 201, created.json()
    read = scim.get(f"Groups/{created.json()['id']}")
    assert read.json() == created.json()
    assert read["ETag"] == created["ETag"] == created.json()["meta"]["version"]


def test_members_are_added_and_removed_entra_style(scim, employee, manager, platform):
    patched = scim.patch(
        f"Groups/{platform.pk}",
        [{"op": "Remove", "path": "members", "value": [{"value": str(employee.pk)}]}],
    )
    assert patched.status_code == 200, patched.json()
    assert [m["value"] for m in patched.json()["members"]] == [str(manager.pk)]
    employee.refresh_from_db()
    assert employee.team is None
    change = TeamChange.objects.get()
    assert (change.employee, change.from_team, change.to_team) == (employee, platform, None)
    added = scim.patch(
        f"Groups/{platform.pk}",
        [{"op": "Add", "path": "members", "value": [{"value": str(employee.pk)}]}],
    )
    assert added.status_code == 200
    employee.refresh_from_db()
    assert employee.team == platform


def test_a_path_filter_removes_one_member(scim, employee, manager, platform):
    patched = scim.patch(
        f"Groups/{platform.pk}",
        [{"op": "remove", "path": f'members[value eq "{manager.pk}"]'}],
    )
    assert patched.status_code == 200, patched.json()
    assert [m["value"] for m in patched.json()["members"]] == [str(employee.pk)]


def test_unknown_member_ids_are_refused_and_nothing_changes(scim, employee, platform):
    refused = scim.patch(
        f"Groups/{platform.pk}",
        [
            {"op": "add", "path": "members", "value": [{"value": "999999"}, {"value": "nope"}]},
        ],
    )
    detail = assert_scim_error(refused, 400, "invalidValue")["detail"]
    assert "999999" in detail and "nope" in detail
    refused = scim.post("Groups", group("Ghosts", employee) | {"members": [{"value": "424242"}]})
    assert_scim_error(refused, 400, "invalidValue")
    assert not Team.objects.filter(name="Ghosts").exists()
    assert not TeamChange.objects.exists()


def test_nobody_joins_an_ai_initiative_through_scim(scim, employee, platform, ai_team):
    for attempt in (
        lambda: scim.patch(
            f"Groups/{ai_team.pk}",
            [{"op": "add", "path": "members", "value": [{"value": str(employee.pk)}]}],
        ),
        lambda: scim.put(f"Groups/{ai_team.pk}", group(ai_team.name, employee)),
    ):
        refused = attempt()
        body = assert_scim_error(refused, 409, "mutability")
        assert "POST /api/v1/proposals/" in body["detail"]
    employee.refresh_from_db()
    assert employee.team == platform
    assert not TeamChange.objects.exists()
    assert ai_team.members.count() == 0


def test_nobody_is_taken_out_of_an_ai_initiative_through_scim(scim, ai_team, platform):
    # Someone already in the team (imported from before the portal, as the retroactive
    # confirmations are): they leave only by their own undraft.
    sam = make_person("sam@example.com", "Sam Staying", ai_team)
    for attempt in (
        lambda: scim.patch(
            f"Groups/{ai_team.pk}",
            [{"op": "remove", "path": f'members[value eq "{sam.pk}"]'}],
        ),
        lambda: scim.put(f"Groups/{ai_team.pk}", group(ai_team.name)),
        lambda: scim.delete(f"Groups/{ai_team.pk}"),
        lambda: scim.patch(
            f"Users/{sam.pk}",
            [{"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Platform"}],
        ),
    ):
        assert_scim_error(attempt(), 409, "mutability")
    assert Employee.objects.get(pk=sam.pk).team == ai_team
    assert not TeamChange.objects.exists()


def test_an_ai_initiative_says_so_and_its_kind_is_not_changed_over_scim(scim, ai_team, platform):
    assert scim.get(f"Groups/{ai_team.pk}").json()[TEAM] == {"aiInitiative": True}
    assert TEAM not in scim.get(f"Groups/{platform.pk}").json()
    refused = scim.patch(
        f"Groups/{platform.pk}", [{"op": "replace", "path": f"{TEAM}:aiInitiative", "value": True}]
    )
    assert_scim_error(refused, 400, "mutability")
    assert Team.objects.get(pk=platform.pk).kind == Team.Kind.REGULAR


def test_deleting_a_group_empties_the_team_and_keeps_its_row(scim, employee, manager, platform):
    assert scim.delete(f"Groups/{platform.pk}").status_code == 204
    assert Team.objects.filter(pk=platform.pk).exists()
    assert platform.members.count() == 0
    assert TeamChange.objects.filter(from_team=platform, to_team=None).count() == 2
    assert_scim_error(scim.get(f"Groups/{platform.pk}"), 404)
    assert str(platform.pk) not in [g["id"] for g in scim.get("Groups").json()["Resources"]]


def test_put_replaces_name_members_and_team_fields(scim, employee, manager, platform):
    replaced = scim.put(
        f"Groups/{platform.pk}",
        group("Platform Engineering", manager, **{TEAM: {"description": "Runs the platform."}}),
    )
    assert replaced.status_code == 200, replaced.json()
    platform.refresh_from_db()
    assert (platform.name, platform.description) == ("Platform Engineering", "Runs the platform.")
    assert list(platform.members.all()) == [manager]
