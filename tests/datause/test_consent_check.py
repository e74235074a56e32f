"""The consent check: constant queries, the API's answers, and immediate effect of a
withdrawal seen from another connection."""

import threading

import pytest
from django.db import connection

from consent.models import AccessLogEntry
from datause import checklog, services
from datause.check import check, check_many
from tests.api.conftest import key_client
from tests.conftest import WEB, make_person

URL = "/api/v1/consent/check"


def _opt_in(purpose, person):
    return services.opt_in(
        purpose=purpose, actor=person.user, terms_sha256=purpose.terms_sha256, context=WEB
    )


@pytest.mark.django_db
@pytest.mark.parametrize("size", [1, 50])
def test_check_many_takes_three_queries_whatever_the_batch(
    size, purpose, platform, django_assert_num_queries
):
    people = [
        make_person(f"p{i}@example.test", f"P {i}", platform, external_id=f"X-{i}")
        for i in range(size)
    ]
    for person in people[::2]:
        _opt_in(purpose, person)
    pairs = [(p.external_id, purpose.slug) for p in people]
    # 1. employees by external id, 2. published purposes by slug, 3. newest record per pair
    with django_assert_num_queries(3):
        answers = check_many(pairs)
    assert [a["allowed"] for a in answers] == [i % 2 == 0 for i in range(size)]


@pytest.mark.django_db
def test_the_api_answers_a_key_with_the_scope(purpose, eve):
    record = _opt_in(purpose, eve)
    client = key_client("consent:check", name="Telemetry")[0]
    response = client.get(URL, {"employee": "E-1001", "purpose": purpose.slug})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["allowed"] is True and body["record_id"] == record.pk
    assert body["purpose_version"] == 1 and body["valid_until"]
    # The read is access-logged against the person, for them to see (once spooled checks are
    # counted: every few seconds in a web process, here when asked).
    checklog.flush()
    entry = AccessLogEntry.objects.get(subject=eve.user)
    assert entry.channel == "api" and entry.page == "api:consent-check"
    listing = client.get("/api/v1/purposes/").json()
    assert [(p["slug"], p["version"]) for p in listing] == [("keystrokes", 1)]


@pytest.mark.django_db
def test_without_the_scope_or_as_a_person_it_is_403(purpose, eve, client):
    other = key_client("consent:read")[0]
    assert other.get(URL, {"employee": "E-1001", "purpose": purpose.slug}).status_code == 403
    assert other.post(URL, {"checks": []}, format="json").status_code == 403
    assert other.get("/api/v1/purposes/").status_code == 403
    client.force_login(eve.user)  # a signed-in person may not ask about anyone, even herself
    assert client.get(URL, {"employee": "E-1001", "purpose": purpose.slug}).status_code == 403


@pytest.mark.django_db
def test_unknown_employee_or_purpose_is_404_never_allowed(purpose, eve):
    client = key_client("consent:check")[0]
    response = client.get(URL, {"employee": "nobody", "purpose": purpose.slug})
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert "nobody" in response.json()["detail"] and response.json()["allowed"] is False
    response = client.get(URL, {"employee": "E-1001", "purpose": "nothing"})
    assert response.status_code == 404 and "nothing" in response.json()["detail"]
    assert client.get(URL, {"employee": "E-1001"}).status_code == 400


@pytest.mark.django_db
def test_a_batch_answers_in_order_and_names_malformed_items(purpose, eve):
    _opt_in(purpose, eve)
    client = key_client("consent:check")[0]
    response = client.post(
        URL,
        {"checks": [{"employee": "E-1001", "purpose": "keystrokes"}, {"employee": 5}, "x"]},
        format="json",
    )
    assert response.status_code == 400
    assert [e["index"] for e in response.json()["errors"]] == [1, 2]
    response = client.post(
        URL, {"checks": [{"employee": "E-1001", "purpose": "x"}] * 1001}, format="json"
    )
    assert response.status_code == 400 and "1000" in response.json()["detail"]
    response = client.post(
        URL,
        {
            "checks": [
                {"employee": "E-1001", "purpose": "keystrokes"},
                {"employee": "ghost", "purpose": "keystrokes"},
            ]
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="batch-1",
    )
    assert response.status_code == 200, response.content
    first, ghost = response.json()["results"]
    assert first["allowed"] is True and first["status"] == 200
    assert ghost == {
        "employee": "ghost", "purpose": "keystrokes", "allowed": False,
        "status": 404, "detail": "unknown employee",
    }  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_withdrawal_is_in_effect_at_once_for_another_connection(purpose, eve):
    """Withdraw on this connection (committed), then ask from a thread with its own."""
    seen = []

    def ask():
        try:
            seen.append(check("E-1001", purpose.slug)["allowed"])
        finally:
            connection.close()

    for _ in range(10):
        _opt_in(purpose, eve)
        thread = threading.Thread(target=ask)
        thread.start()
        thread.join()
        services.opt_out(
            purpose=purpose, actor=eve.user, terms_sha256=purpose.terms_sha256, context=WEB
        )
        thread = threading.Thread(target=ask)
        thread.start()
        thread.join()
    assert seen == [True, False] * 10


@pytest.mark.django_db(transaction=True)
def test_a_withdrawal_in_another_connection_is_seen_by_the_api(purpose, eve):
    client = key_client("consent:check")[0]
    _opt_in(purpose, eve)
    assert client.get(URL, {"employee": "E-1001", "purpose": purpose.slug}).json()["allowed"]

    def withdraw():
        try:
            services.opt_out(
                purpose=purpose, actor=eve.user, terms_sha256=purpose.terms_sha256, context=WEB
            )
        finally:
            connection.close()

    thread = threading.Thread(target=withdraw)
    thread.start()
    thread.join()
    response = client.get(URL, {"employee": "E-1001", "purpose": purpose.slug})
    assert response.json()["allowed"] is False


def _raw_post(client, body: bytes, content_type="application/json", **extra):
    return client.post(URL, data=body, content_type=content_type, **extra)


@pytest.mark.django_db
def test_the_fast_batch_answers_exactly_as_the_drf_view(purpose, eve):
    """Without an Idempotency-Key the plain view answers; with one, the DRF view: same body."""
    _opt_in(purpose, eve)
    client = key_client("consent:check")[0]
    body = {
        "checks": [
            {"employee": " E-1001 ", "purpose": "keystrokes"},
            {"employee": "E-1001", "purpose": "nothing"},
            {"employee": "ghost", "purpose": "keystrokes"},
        ]
    }
    fast = client.post(URL, body, format="json")
    drf = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="same-answer")
    assert fast.status_code == drf.status_code == 200
    assert fast["Content-Type"] == drf["Content-Type"] == "application/json"
    assert fast.json() == drf.json()
    first, unknown_purpose, ghost = fast.json()["results"]
    assert first["employee"] == "E-1001" and first["allowed"] is True
    assert unknown_purpose["status"] == 404 and unknown_purpose["detail"] == "unknown purpose"
    assert ghost["allowed"] is False
    # Every answered pair is logged, like a single check (the unknown ones are no read).
    checklog.flush()
    assert AccessLogEntry.objects.filter(subject=eve.user).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'{"checks": [{"employee": "E-1\\u0000", "purpose": "keystrokes"}]}', "NUL character"),
        (b'{"checks": [{"employee": "E-1", "purpose": "k"}], "x": "\\u0000"}', "NUL character"),
        (b'{"checks": [{"employee": "\\udc80", "purpose": "keystrokes"}]}', "lone surrogate"),
        (b'{"checks": [', "JSON parse error"),
        (b'{"checks": [NaN]}', "JSON parse error"),
        (b'{"checks": {"employee": "E-1001"}}', '{"checks": [{"employee"'),
        (b'[{"employee": "E-1001", "purpose": "keystrokes"}]', '{"checks": [{"employee"'),
        (b"", '{"checks": [{"employee"'),
    ],
)
def test_a_batch_the_parser_refuses_is_400_and_says_why(purpose, eve, body, detail):
    client = key_client("consent:check")[0]
    response = _raw_post(client, body)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert detail in response.json()["detail"]


@pytest.mark.django_db
def test_a_batch_names_every_malformed_item_and_refuses_oversized_bodies(purpose, eve, settings):
    client = key_client("consent:check")[0]
    items = [
        {"employee": "E-1001", "purpose": "keystrokes"},
        {"purpose": "x"},
        7,
        {"employee": " ", "purpose": "x"},
        {"employee": "E-1001", "purpose": ["x"]},
    ]
    response = client.post(URL, {"checks": items}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "4 check(s) are malformed."
    assert [e["index"] for e in response.json()["errors"]] == [1, 2, 3, 4]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post(URL, {"checks": [items[0]] * 40}, format="json")
    assert response.status_code == 413 and "fewer items" in response.json()["detail"]
    # Another media type is DRF's 415, as before.
    response = _raw_post(client, b"checks=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


@pytest.mark.django_db
def test_a_batch_needs_a_key_with_the_scope(purpose, eve, client):
    body = b'{"checks": [{"employee": "E-1001", "purpose": "keystrokes"}]}'
    assert _raw_post(client, body).status_code == 401
    assert _raw_post(key_client("consent:read")[0], body).status_code == 403
    client.force_login(eve.user)
    assert _raw_post(client, body).status_code == 403


@pytest.mark.django_db
def test_the_check_is_rate_limited_per_key_in_each_process(purpose, eve, monkeypatch):
    """The configured rate, shared among the web processes: 6/min over 3 processes is 2 per
    key in this one, for single checks and batches alike; another key has its own budget."""
    from api.throttling import PerClientRateThrottle

    monkeypatch.setattr(PerClientRateThrottle, "THROTTLE_RATES", {"client": "6/min"})
    monkeypatch.setenv("GUNICORN_WORKERS", "3")
    client, other = key_client("consent:check")[0], key_client("consent:check")[0]
    single = {"employee": "E-1001", "purpose": purpose.slug}
    batch = {"checks": [single]}
    assert client.get(URL, single).status_code == 200
    assert client.post(URL, batch, format="json").status_code == 200
    refused = client.get(URL, single)
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert refused["Content-Type"] == "application/problem+json"
    assert client.post(URL, batch, format="json").status_code == 429
    assert client.post(URL, batch, format="json", HTTP_IDEMPOTENCY_KEY="k1").status_code == 429
    assert other.post(URL, batch, format="json").status_code == 200
