"""The ledger's admin answers only the filters it offers: a superuser's `?<field>__regex=` probe
gets a 400 with no data and no query, never a reason and never a 500."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assignments.services import opt_out
from tests.conftest import WEB

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/consent/consentrecord/"
REASON = "canary-admin-31: I was told to say yes"


@pytest.fixture
def root_client(client, settings):
    settings.PORTAL_REQUIRE_MFA = False  # the admin's sign-in is tested elsewhere
    root = get_user_model().objects.create_superuser("root", "root@example.test", "pw")
    client.force_login(root)
    return client


@pytest.fixture
def record(proposal, employee):
    return opt_out(proposal=proposal, actor=employee.user, context=WEB, private_reason=REASON)


@pytest.mark.parametrize(
    "query",
    [
        "reason_ciphertext__regex=^v1",
        "reason_ciphertext__startswith=v1.A",
        "private_reason__regex=^canary",  # the column of the old format
        "private_reason__regex=(",  # an invalid pattern: was a 500
        "hash__regex=^0",
        "reason_key__wrapped__isnull=false",
        "subject__password__startswith=md5",
    ],
)
def test_an_unoffered_lookup_is_refused_before_any_query(root_client, record, query):
    with CaptureQueriesContext(connection) as queries:
        response = root_client.get(f"{CHANGELIST}?{query}")
    assert response.status_code == 400
    body = response.content.decode()
    assert record.reason_ciphertext not in body and "canary-admin" not in body
    assert not [q["sql"] for q in queries if "consent_consentrecord" in q["sql"]]


@pytest.mark.parametrize(
    "query", ["", "action__exact=opt_out", "about_kind=proposal", "recorded_at__year=2026", "q=eve"]
)
def test_the_offered_filters_still_work_and_show_no_reason(root_client, record, query):
    response = root_client.get(f"{CHANGELIST}?{query}")
    assert response.status_code == 200
    body = response.content.decode()
    assert record.reason_ciphertext not in body and "canary-admin" not in body


def test_a_record_page_shows_neither_the_reason_nor_its_ciphertext(root_client, record):
    response = root_client.get(f"{CHANGELIST}{record.pk}/change/")
    assert response.status_code == 200
    body = response.content.decode()
    assert str(record.hash) in body  # the page does show the record
    assert record.reason_ciphertext not in body and "canary-admin" not in body
    assert "reason_key" not in body
