"""A SCIM client: an API key holding only the `scim` scope, as an HRIS integration has."""

import json

import pytest
from rest_framework.test import APIClient

from api.keys import create_key
from tests.conftest import clear_cache_entries

SCIM = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimClient:
    def __init__(self, secret: str):
        self.http = APIClient()
        self.http.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def _send(self, method, path, body=None, **headers):
        data = None if body is None else json.dumps(body)
        return getattr(self.http, method)(
            f"/scim/v2/{path.lstrip('/')}", data=data, content_type=SCIM, **headers
        )

    def get(self, path, **headers):
        return self.http.get(f"/scim/v2/{path.lstrip('/')}", **headers)

    def post(self, path, body, **headers):
        return self._send("post", path, body, **headers)

    def put(self, path, body, **headers):
        return self._send("put", path, body, **headers)

    def patch(self, path, operations, **headers):
        return self._send("patch", path, {"schemas": [PATCH], "Operations": operations}, **headers)

    def delete(self, path, **headers):
        return self.http.delete(f"/scim/v2/{path.lstrip('/')}", **headers)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    clear_cache_entries()
    yield
    clear_cache_entries()


@pytest.fixture
def hris_key(db):
    return create_key(name="Workday sync", scopes=["scim"])


@pytest.fixture
def scim(hris_key):
    return ScimClient(hris_key[1])


def new_user(user_name="bjensen@example.com", **extra):
    return {"schemas": [USER], "userName": user_name, **extra}


def assert_scim_error(response, status, scim_type=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(SCIM)
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body
