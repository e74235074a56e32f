"""SCIM Users: people provisioned by the HRIS, read back as they were written."""

import pytest
from django.contrib.auth import get_user_model

from people.models import Employee, ScimRecord, TeamChange
from tests.conftest import make_person
from tests.scim.conftest import ENTERPRISE, SCIM, USER, assert_scim_error, new_user

pytestmark = pytest.mark.django_db


def barbara(**extra):
    return new_user(
        "bjensen@example.com",
        name={"givenName": "Barbara", "familyName": "Jensen"},
        displayName="Babs Jensen",
        nickName="Babs",
        title="Tour Guide",
        emails=[
            {"value": "babs@home.example.com", "type": "home"},
            {"value": "bjensen@example.com", "type": "work", "primary": True},
        ],
        phoneNumbers=[{"value": "+1-555-555-8377", "type": "work"}],
        preferredLanguage="de-DE",
        timezone="Europe/Berlin",
        **extra,
    )


def test_a_created_user_is_a_person_with_every_attribute_read_back(scim, manager, platform):
    created = scim.post(
        "Users",
        barbara(
            externalId="hris-4711",
            **{
                ENTERPRISE: {
                    "employeeNumber": "E-4711",
                    "costCenter": "CC-9",
                    "department": "Platform",
                    "manager": {"value": str(manager.pk)},
                }
            },
        ),
    )
    assert created.status_code == 201, created.json()
    assert created["Content-Type"] == SCIM
    body = created.json()
    assert (
        created["Location"]
        == body["meta"]["location"]
        == (f"http://testserver/scim/v2/Users/{body['id']}")
    )
    assert created["ETag"] == body["meta"]["version"]
    person = Employee.objects.get(pk=body["id"])
    assert (person.name, person.email, person.title) == (
        "Babs Jensen",
        "bjensen@example.com",
        "Tour Guide",
    )
    assert (person.external_id, person.manager, person.team) == ("E-4711", manager, platform)
    assert (person.language, person.time_zone) == ("de", "Europe/Berlin")
    assert person.user.username == "bjensen@example.com"
    assert not person.user.has_usable_password()  # people sign in with SSO

    read = scim.get(f"Users/{person.pk}").json()
    assert read["nickName"] == "Babs" and read["externalId"] == "hris-4711"
    assert read["phoneNumbers"] == [{"value": "+1-555-555-8377", "type": "work"}]
    assert read["preferredLanguage"] == "de-DE" and read["timezone"] == "Europe/Berlin"
    assert read["groups"] == [
        {
            "value": str(platform.pk),
            "$ref": f"http://testserver/scim/v2/Groups/{platform.pk}",
            "display": "Platform",
            "type": "direct",
        }
    ]
    assert read[ENTERPRISE] == {
        "employeeNumber": "E-4711",
        "costCenter": "CC-9",
        "department": "Platform",
        "manager": {
            "value": str(manager.pk),
            "$ref": f"http://testserver/scim/v2/Users/{manager.pk}",
        },
    }
    # Placing her in her team was an audited administrative change.
    change = TeamChange.objects.get(employee=person)
    assert (change.from_team, change.to_team) == (None, platform)
    assert change.client_name == "Workday sync"


def test_the_answer_to_a_create_is_what_reading_it_back_gives(scim, manager, platform):
    """The 201 is built from the rows just written, not read back: it must be the read,
    ETag included, also when the department placed the person in a team."""
    placed = barbara(
        externalId="hris-1",
        addresses=[{"streetAddress": "1 Main St", "locality": "Berlin", "type": "work"}],
        roles=[{"value": "guide", "primary": True}],
        **{
            ENTERPRISE: {
                "employeeNumber": "E-1",
                "costCenter": "CC-1",
                "department": "Platform",
                "manager": {"value": str(manager.pk)},
            }
        },
    )
    leaver = new_user("leaver@example.com", active=False, title="Was here")
    for body in (placed, new_user("plain"), leaver):
        created = scim.post("Users", body)
        assert created.status_code == 201, created.json()
        read = scim.get(f"Users/{created.json()['id']}")
        assert read.json() == created.json()
        assert read["ETag"] == created["ETag"] == created.json()["meta"]["version"]
        if body is placed:
            assert [g["value"] for g in created.json()["groups"]] == [str(platform.pk)]


def test_user_name_is_unique_whatever_the_case(scim):
    assert scim.post("Users", new_user("bjensen@example.com")).status_code == 201
    refused = scim.post("Users", new_user("BJensen@Example.com"))
    assert_scim_error(refused, 409, "uniqueness")
    assert Employee.objects.count() == 1


def test_an_email_someone_has_is_refused_after_a_taken_user_name(scim, platform):
    """Both are found in one lookup, and refused in the order they always were."""
    eva = make_person("eva@example.com", "Eva", platform)
    theirs = [{"value": "EVA@Example.com", "type": "work", "primary": True}]
    refused = scim.post("Users", new_user("new-person", emails=theirs))
    assert "belongs to another User" in assert_scim_error(refused, 409, "uniqueness")["detail"]
    taken_too = new_user(eva.user.username.upper(), emails=theirs)
    assert "already taken" in assert_scim_error(scim.post("Users", taken_too), 409)["detail"]
    assert Employee.objects.count() == 1


def test_an_unknown_manager_is_refused_and_nothing_is_created(scim):
    refused = scim.post("Users", new_user(**{ENTERPRISE: {"manager": {"value": "999999"}}}))
    assert "999999" in assert_scim_error(refused, 400, "invalidValue")["detail"]
    assert not Employee.objects.exists()
    assert not get_user_model().objects.filter(username="bjensen@example.com").exists()


def test_people_the_portal_already_knew_are_users_too(scim, employee, platform):
    Employee.objects.filter(pk=employee.pk).update(email="eve@example.com")
    read = scim.get(f"Users/{employee.pk}").json()
    assert read["userName"] == employee.user.username
    assert read["displayName"] == "Eve Employee"
    assert read["emails"] == [{"value": "eve@example.com", "type": "work", "primary": True}]
    assert read["active"] is True
    assert read[ENTERPRISE]["department"] == "Platform"
    assert read[ENTERPRISE]["manager"]["value"] == str(employee.manager_id)


def test_an_address_scim_cannot_carry_is_left_out_rather_than_failing_the_read(scim, employee):
    # eve@example.test: .test is a reserved domain, which SCIM's email type refuses.
    read = scim.get(f"Users/{employee.pk}")
    assert read.status_code == 200 and "emails" not in read.json()
    assert (
        scim.patch(
            f"Users/{employee.pk}", [{"op": "add", "path": "title", "value": "Staff"}]
        ).status_code
        == 200
    )


def test_put_replaces_and_patch_without_a_path_replaces_the_named_attributes(scim):
    user_id = scim.post("Users", barbara()).json()["id"]
    replaced = scim.put(
        f"Users/{user_id}", new_user("bjensen@example.com", displayName="Barbara J.")
    )
    assert replaced.status_code == 200, replaced.json()
    body = replaced.json()
    assert body["displayName"] == "Barbara J." and "nickName" not in body and "title" not in body
    assert Employee.objects.get(pk=user_id).name == "Barbara J."

    patched = scim.patch(
        f"Users/{user_id}",
        [{"op": "Replace", "value": {"title": "Lead Guide", "nickName": "BJ"}}],
    )
    assert patched.status_code == 200, patched.json()
    assert (patched.json()["title"], patched.json()["nickName"]) == ("Lead Guide", "BJ")
    assert Employee.objects.get(pk=user_id).title == "Lead Guide"


def test_etags_make_reads_conditional_and_writes_safe(scim):
    created = scim.post("Users", new_user())
    user_id, version = created.json()["id"], created["ETag"]
    assert version.startswith('W/"')
    assert scim.get(f"Users/{user_id}", HTTP_IF_NONE_MATCH=version).status_code == 304
    changed = scim.patch(
        f"Users/{user_id}", [{"op": "add", "path": "title", "value": "x"}], HTTP_IF_MATCH=version
    )
    assert changed.status_code == 200 and changed["ETag"] != version
    stale = scim.patch(
        f"Users/{user_id}", [{"op": "add", "path": "title", "value": "y"}], HTTP_IF_MATCH=version
    )
    assert_scim_error(stale, 412)
    assert Employee.objects.get(pk=user_id).title == "x"
    assert scim.get(f"Users/{user_id}", HTTP_IF_NONE_MATCH=version).status_code == 200


def test_delete_deactivates_keeps_the_person_and_answers_404_from_then_on(scim, employee):
    assert scim.delete(f"Users/{employee.pk}").status_code == 204
    employee.refresh_from_db()
    assert not employee.is_active and not employee.user.is_active
    assert ScimRecord.objects.get(employee=employee).deleted_at is not None
    assert_scim_error(scim.get(f"Users/{employee.pk}"), 404)
    title = [{"op": "add", "path": "title", "value": "x"}]
    assert_scim_error(scim.patch(f"Users/{employee.pk}", title), 404)
    assert_scim_error(scim.delete(f"Users/{employee.pk}"), 404)
    listed = scim.get("Users").json()
    assert str(employee.pk) not in [r["id"] for r in listed["Resources"]]
    # Their userName stays theirs: their history is kept under it.
    again = scim.post("Users", new_user(employee.user.username))
    assert "deprovisioned" in assert_scim_error(again, 409, "uniqueness")["detail"]


def test_a_department_naming_an_ai_initiative_is_refused_and_nothing_changes(
    scim, employee, ai_team, platform
):
    before = scim.get(f"Users/{employee.pk}")["ETag"]
    refused = scim.patch(
        f"Users/{employee.pk}",
        [{"op": "replace", "path": f"{ENTERPRISE}:department", "value": ai_team.name}],
    )
    detail = assert_scim_error(refused, 409, "mutability")["detail"]
    assert "POST /api/v1/proposals/" in detail
    employee.refresh_from_db()
    assert employee.team == platform
    assert not TeamChange.objects.exists()
    assert scim.get(f"Users/{employee.pk}")["ETag"] == before
    created = scim.post("Users", new_user(**{ENTERPRISE: {"department": "applied-ai"}}))
    assert_scim_error(created, 409, "mutability")
    assert not Employee.objects.filter(user__username="bjensen@example.com").exists()


def test_a_department_change_between_regular_teams_is_an_audited_change(
    scim, hris_key, employee, platform, payments
):
    changed = scim.patch(
        f"Users/{employee.pk}",
        [{"op": "replace", "path": f"{ENTERPRISE}:department", "value": "payments"}],
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()[ENTERPRISE]["department"] == "Payments"
    change = TeamChange.objects.get()
    key = hris_key[0]
    assert (change.employee, change.from_team, change.to_team) == (employee, platform, payments)
    assert (change.client_name, change.api_key_id, change.actor_id) == (
        "Workday sync",
        key.pk,
        key.service_user_id,
    )
    # The same department sent again (a nightly full sync) changes nothing more.
    scim.put(
        f"Users/{employee.pk}",
        new_user(employee.user.username, **{ENTERPRISE: {"department": "payments"}}),
    )
    assert TeamChange.objects.count() == 1


def test_a_department_naming_no_team_is_kept_as_the_hris_label(scim):
    created = scim.post("Users", new_user(**{ENTERPRISE: {"department": "Field Sales"}}))
    assert created.json()[ENTERPRISE]["department"] == "Field Sales"
    assert Employee.objects.get(pk=created.json()["id"]).team is None


def test_patch_of_a_read_only_attribute_is_refused(scim, employee):
    refused = scim.patch(
        f"Users/{employee.pk}", [{"op": "add", "path": "groups", "value": [{"value": "1"}]}]
    )
    assert_scim_error(refused, 400, "mutability")


def test_users_carry_the_enterprise_schema_only_when_they_have_its_attributes(scim):
    body = scim.post("Users", new_user()).json()
    assert body["schemas"] == [USER] and ENTERPRISE not in body
