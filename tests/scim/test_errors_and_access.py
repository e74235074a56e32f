"""Who may use SCIM, and every error as a SCIM error body (never problem details)."""

import pytest
from rest_framework.test import APIClient

from people.models import Employee
from tests.api.conftest import key_client
from tests.scim.conftest import SCIM, ScimClient, assert_scim_error, new_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["nope", "Users/1/extra", "v1/Users", "", "ResourceTypes/Robots", "Schemas/urn:x"]
)
def test_unknown_urls_are_scim_404s(scim, path):
    assert_scim_error(scim.get(path), 404)


def test_without_a_key_it_is_a_scim_401_with_a_challenge(db):
    response = APIClient().get("/scim/v2/Users")
    assert_scim_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    unknown = APIClient()
    unknown.credentials(HTTP_AUTHORIZATION="Bearer cp_nope_nope")
    assert_scim_error(unknown.get("/scim/v2/nope"), 401)


def test_a_signed_in_person_is_not_a_scim_client(client, hr_user):
    client.force_login(hr_user)
    assert_scim_error(client.get("/scim/v2/Users"), 401)


def test_a_key_without_the_scim_scope_gets_403_and_nothing_changes(db):
    reader, _, _ = key_client("org:read", "org:write")
    response = reader.post("/scim/v2/Users", new_user(), format="json", HTTP_CONTENT_TYPE=SCIM)
    assert "scim" in assert_scim_error(response, 403)["detail"]
    assert not Employee.objects.exists()


def test_a_revoked_key_stops_at_once(hris_key):
    from api.keys import revoke

    scim = ScimClient(hris_key[1])
    assert scim.get("Users").status_code == 200
    revoke(hris_key[0])
    assert_scim_error(scim.get("Users"), 401)


def test_bad_bodies_are_scim_400s(scim):
    not_json = scim.http.post("/scim/v2/Users", data="{nope", content_type=SCIM)
    assert_scim_error(not_json, 400, "invalidSyntax")
    unknown_attribute = scim.post("Users", new_user(shoeSize=9))
    assert_scim_error(unknown_attribute, 400)
    no_user_name = scim.post("Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]})
    assert_scim_error(no_user_name, 400)
    xml = scim.http.post("/scim/v2/Users", data="<user/>", content_type="application/xml")
    assert_scim_error(xml, 415)


def test_discovery_endpoints_only_answer_get(scim):
    for path in ("ServiceProviderConfig", "ResourceTypes", "Schemas"):
        assert scim.get(path).status_code == 200
        assert_scim_error(scim.post(path, {}), 405)
        assert_scim_error(scim.delete(path), 405)


def test_bulk_and_me_are_announced_unsupported(scim):
    assert scim.get("ServiceProviderConfig").json()["bulk"]["supported"] is False
    assert_scim_error(scim.post("Bulk", {}), 501)
    assert_scim_error(scim.get("Me"), 501)


def test_responses_are_scim_json_even_when_json_is_asked_for(scim, employee):
    response = scim.get(f"Users/{employee.pk}", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response["Content-Type"] == SCIM
    plain = scim.http.patch(
        f"/scim/v2/Users/{employee.pk}",
        data='{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],'
        '"Operations":[{"op":"add","path":"title","value":"Staff"}]}',
        content_type="application/json",
    )
    assert plain.status_code == 200, plain.json()


def test_search_at_the_root_finds_users_and_groups(scim, employee, platform):
    found = scim.post(
        ".search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "attributes": ["displayName"],
        },
    )
    assert found.status_code == 200, found.json()
    kinds = {tuple(r["schemas"])[0].rsplit(":", 1)[-1] for r in found.json()["Resources"]}
    assert kinds == {"User", "Group"}


def test_entra_sends_the_manager_as_a_bare_id_and_booleans_as_strings(scim, employee, manager):
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    patched = scim.patch(
        f"Users/{employee.pk}",
        [
            {"op": "Add", "path": f"{enterprise}:manager", "value": str(employee.pk + 1000)},
        ],
    )
    assert_scim_error(patched, 400, "invalidValue")
    newcomer = scim.post("Users", new_user("new@example.com")).json()["id"]
    patched = scim.patch(
        f"Users/{newcomer}",
        [
            {"op": "Add", "path": f"{enterprise}:manager", "value": str(manager.pk)},
            {"op": "Replace", "path": "active", "value": "False"},
        ],
    )
    assert patched.status_code == 200, patched.json()
    person = Employee.objects.get(pk=newcomer)
    assert person.manager == manager and not person.is_active


def test_a_body_too_large_is_a_scim_413(scim, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = scim.post("Users", new_user(nickName="x" * 2000))
    assert_scim_error(response, 413)
