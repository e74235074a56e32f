import pytest
from rest_framework.test import APIClient

from api.keys import create_key
from api.scopes import SCOPES
from tests.conftest import clear_cache_entries


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    clear_cache_entries()  # rate-limit counters live in the shared cache
    yield
    clear_cache_entries()


def key_client(*scopes: str, name="Workday sync") -> tuple[APIClient, object, str]:
    key, secret = create_key(name=name, scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client, key, secret


@pytest.fixture
def hris(db):
    """A client holding every scope, as an HRIS integration would."""
    return key_client(*SCOPES)[0]


@pytest.fixture
def eve_external_id(employee):
    employee.external_id = "E-1001"
    employee.save(update_fields=["external_id"])
    return employee.external_id
