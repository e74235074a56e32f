"""The REST API: keys and scopes, decisions that cannot be made here, idempotency, errors."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import IdempotencyRecord
from assignments.models import Proposal
from consent.models import ConsentRecord
from tests.api.conftest import key_client

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
ROLE = (
    "Evaluate the task force's models day to day: write test sets, run evaluations and "
    "review outputs. About 40% of the work is data labelling. Same grade and pay."
)


def new_proposal(external_id, team, deadline, start_date, **extra):
    return {
        "employee": external_id,
        "to_team": team.slug,
        "role_description": ROLE,
        "data_labelling_percent": 40,
        "start_date": start_date.isoformat(),
        "response_deadline": deadline.isoformat(),
        **extra,
    }


def test_create_api_key_prints_the_key_once_as_its_last_line_and_it_works():
    out = io.StringIO()
    call_command("create_api_key", "--name", "Workday", "--scopes", "org:read", stdout=out)
    secret = out.getvalue().strip().splitlines()[-1]
    assert secret.startswith("cp_")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/teams/").status_code == 200
    # Only its hash is stored.
    from api.models import ApiKey

    stored = ApiKey.objects.get()
    assert secret not in json.dumps(list(ApiKey.objects.values()), default=str)
    assert stored.last_used_at is not None
    call_command("revoke_api_key", stored.prefix, stdout=io.StringIO())
    revoked = client.get("/api/v1/teams/")
    assert revoked.status_code == 401 and revoked["Content-Type"] == PROBLEM


def test_create_api_key_refuses_unknown_scopes_by_name():
    with pytest.raises(CommandError, match="unknown scope.*decide:everything"):
        call_command("create_api_key", "--name", "x", "--scopes", "org:read,decide:everything")


def test_a_key_without_the_scope_gets_403_and_nothing_changes(
    eve_external_id, ai_team, deadline, start_date
):
    reader, _, _ = key_client("proposals:read")
    body = new_proposal(eve_external_id, ai_team, deadline, start_date)
    response = reader.post("/api/v1/proposals/", body, format="json")
    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM
    assert "proposals:write" in response.json()["detail"]
    assert not Proposal.objects.exists()
    assert key_client("org:read")[0].get("/api/v1/proposals/").status_code == 403


def test_an_hris_proposes_and_reads_the_decision_it_can_never_make(
    hris, eve_external_id, employee, ai_team, deadline, start_date
):
    created = hris.post(
        "/api/v1/proposals/",
        new_proposal(eve_external_id, ai_team, deadline, start_date),
        format="json",
    )
    assert created.status_code == 201, created.content
    proposal = Proposal.objects.get(pk=created.json()["id"])
    assert proposal.proposed_by.get_full_name() == "Workday sync"  # the key's own account
    assert created.json()["state"] == "pending"
    for decision in ("opt-in", "opt-out", "withdraw-consent", "undraft"):
        for method in ("post", "put", "patch", "get", "delete"):
            refused = getattr(hris, method)(f"/api/v1/proposals/{proposal.pk}/{decision}/")
            assert refused.status_code == 405, (decision, method)
            assert refused["Content-Type"] == PROBLEM
    assert not ConsentRecord.objects.exists()
    proposal.refresh_from_db()
    assert proposal.state == Proposal.State.PENDING
    listed = hris.get("/api/v1/proposals/?state=pending").json()
    assert [p["id"] for p in listed["results"]] == [proposal.pk]


def test_the_same_idempotency_key_returns_the_first_response_and_creates_nothing_new(
    hris, eve_external_id, ai_team, deadline, start_date
):
    body = new_proposal(eve_external_id, ai_team, deadline, start_date)
    first = hris.post("/api/v1/proposals/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = hris.post("/api/v1/proposals/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Proposal.objects.count() == 1
    other = dict(body, data_labelling_percent=10)
    mismatch = hris.post("/api/v1/proposals/", other, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert mismatch.status_code == 422 and mismatch["Content-Type"] == PROBLEM
    assert Proposal.objects.count() == 1


def test_a_duplicate_while_the_first_is_still_running_is_409(
    hris, eve_external_id, ai_team, deadline, start_date
):
    from api.idempotency import _fingerprint  # noqa: F401  (the claim's shape)

    body = new_proposal(eve_external_id, ai_team, deadline, start_date)
    # The first request has claimed the key and not finished (its row has no status yet).
    hris.post("/api/v1/proposals/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    IdempotencyRecord.objects.filter(key="k-2").update(status_code=None, response_body=None)
    running = hris.post("/api/v1/proposals/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert running.status_code == 409
    assert Proposal.objects.count() == 1


def test_a_failed_request_releases_its_idempotency_key(hris, ai_team, deadline, start_date):
    body = new_proposal("nobody", ai_team, deadline, start_date)
    refused = hris.post("/api/v1/proposals/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert refused.status_code == 400
    assert "nobody" in json.dumps(refused.json()["errors"])
    # Nothing happened, so the key is free again: the client may correct and retry with it.
    assert not IdempotencyRecord.objects.filter(key="k-3").exists()


def test_service_rules_come_back_as_problem_details(hris, eve_external_id, ai_team, start_date):
    too_soon = timezone.now() + timedelta(days=1)
    response = hris.post(
        "/api/v1/proposals/",
        new_proposal(eve_external_id, ai_team, too_soon, start_date),
        format="json",
    )
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM
    assert "working days" in json.dumps(response.json()["errors"]["response_deadline"])


def test_withdraw_and_extend_through_the_api(hris, proposal):
    later = proposal.response_deadline + timedelta(days=2)
    extended = hris.post(
        f"/api/v1/proposals/{proposal.pk}/extend/",
        {"response_deadline": later.isoformat(), "reason": "Eve is travelling this week."},
        format="json",
    )
    assert extended.status_code == 200, extended.content
    shorter = hris.post(
        f"/api/v1/proposals/{proposal.pk}/extend/",
        {"response_deadline": proposal.response_deadline.isoformat(), "reason": "Shorter."},
        format="json",
    )
    assert shorter.status_code == 400
    no_reason = hris.post(f"/api/v1/proposals/{proposal.pk}/withdraw/", {}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    why = {"reason": "The team was closed."}
    withdrawn = hris.post(f"/api/v1/proposals/{proposal.pk}/withdraw/", why, format="json")
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    again = hris.post(f"/api/v1/proposals/{proposal.pk}/withdraw/", why, format="json")
    assert again.status_code == 409 and again["Content-Type"] == PROBLEM


def test_bulk_is_all_or_nothing_with_per_item_errors(
    hris, eve_external_id, manager, ai_team, deadline, start_date
):
    manager.external_id = "M-1"
    manager.save(update_fields=["external_id"])
    items = [
        new_proposal(eve_external_id, ai_team, deadline, start_date),
        new_proposal("M-1", ai_team, deadline, start_date, data_labelling_percent=300),
        new_proposal("ghost", ai_team, deadline, start_date),
    ]
    refused = hris.post("/api/v1/proposals/bulk/", {"proposals": items}, format="json")
    assert refused.status_code == 400
    assert [item["index"] for item in refused.json()["items"]] == [1, 2]
    assert not Proposal.objects.exists()
    items[1]["data_labelling_percent"] = 20
    items.pop()
    created = hris.post("/api/v1/proposals/bulk/", {"proposals": items}, format="json")
    assert created.status_code == 201 and len(created.json()) == 2
    # A rule only the service knows (an open proposal already exists) also rolls back all.
    third = hris.post("/api/v1/proposals/bulk/", {"proposals": items[:1]}, format="json")
    assert third.status_code == 400 and Proposal.objects.count() == 2


def test_a_signed_in_person_sees_only_what_their_role_shows(
    client, proposal, employee, outsider, manager
):
    client.force_login(outsider.user)
    assert client.get("/api/v1/proposals/").json()["results"] == []
    assert client.get(f"/api/v1/proposals/{proposal.pk}/").status_code == 404
    client.force_login(employee.user)
    assert [p["id"] for p in client.get("/api/v1/proposals/").json()["results"]] == [proposal.pk]
    # Even the person cannot decide through the API: only the page records a decision.
    assert client.post(f"/api/v1/proposals/{proposal.pk}/opt-in/").status_code == 405
    client.force_login(manager.user)
    assert client.get(f"/api/v1/proposals/{proposal.pk}/").status_code == 200


def test_consent_records_never_carry_the_private_reason(hris, proposal, employee):
    from assignments.services import opt_out
    from tests.conftest import WEB

    opt_out(proposal=proposal, actor=employee.user, context=WEB, private_reason="canary-42")
    reader = key_client("consent:read")[0]
    response = reader.get("/api/v1/consent-records/")
    assert response.status_code == 200
    assert "canary-42" not in response.content.decode()
    [record] = response.json()["results"]
    assert record["private_reason_given"] is True and record["action"] == "opt_out"


def test_rate_limits_answer_429_with_retry_after(settings, hris):
    from rest_framework.settings import api_settings  # noqa: F401

    from api.throttling import PerClientRateThrottle

    PerClientRateThrottle.THROTTLE_RATES = {"client": "3/min"}
    try:
        codes = [hris.get("/api/v1/teams/").status_code for _ in range(4)]
        limited = hris.get("/api/v1/teams/")
    finally:
        PerClientRateThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    assert limited["Retry-After"] and limited["Content-Type"] == PROBLEM


def test_the_schema_documents_scopes_errors_and_the_idempotency_header(client):
    schema = client.get("/api/schema/?format=json").json()
    create = schema["paths"]["/api/v1/proposals/"]["post"]
    assert {"apiKey": ["proposals:write"]} in create["security"]
    assert {"400", "401", "403", "409", "422", "429"} <= set(create["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    assert client.get("/api/docs/").status_code == 200
