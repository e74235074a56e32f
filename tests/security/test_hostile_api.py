"""Hostile bodies on every write endpoint of the REST API (/api/v1/), SCIM (/scim/v2/) and
the consent check (issue 13, "Robustness").

Each endpoint gets its valid body with one to three fields replaced by junk (wrong types,
nested lists and objects, huge strings, Unicode, nulls, injection strings, an unknown field;
tests/security/hostile.py), and bodies that are no JSON object at all (other JSON, broken
JSON, Latin-1 or UTF-16, a lone surrogate, a NUL, random bytes, deep nesting), sent with a key
holding the scopes the endpoint needs. For every example:

* never a server error, and the answer is JSON (problem details, or a SCIM error);
* a refusal (4xx) says what is wrong (`detail`), names only fields the endpoint has when it
  names fields, and leaves the database exactly as before (every table's rows);
* an accepted body stored what was sent.

The bulk endpoint is all or nothing: a batch with bad items names each bad item by its index
(and only items that were changed) and creates nothing. Besides: every field in turn with a
NUL, a lone surrogate, "²" and 100k characters; SCIM ids in paths, filters, members and
managers; the consent check's query string; Idempotency-Key. Each example runs in a savepoint
that is rolled back. About 60 s on a loaded 2-core machine: marked slow.

Found, and fixed: SCIM answered 500 to a NUL or a lone surrogate anywhere in a body (now 400,
as the REST API's StrictJSONParser says it), to "²" as a User or Group id, a filter's id, a
member or a manager (people/scim/store, query), and to `"Operations": true` (people/scim/views);
JSON nested a few thousand deep was a RecursionError, a 500, on every endpoint (api/parsers,
people/scim/views); `GET consent/check?employee=%00` was a 500 (datause/api).
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from api.keys import create_key
from api.scopes import SCOPES
from api.throttling import PerClientRateThrottle
from assignments import services
from assignments.deadlines import minimum_deadline
from assignments.models import Proposal
from people.models import Employee, Team
from tests.assignments.helpers import ROLE
from tests.conftest import make_person
from tests.datause.conftest import make_purpose
from tests.security.hostile import (
    JSON_JUNK,
    NOT_AN_OBJECT,
    Tally,
    changed,
    hostile_text,
    json_object,
    snapshot,
)
from webhooks.models import WebhookEndpoint
from webhooks.services import create_endpoint

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
TALLY = Tally("hostile api")
HYPOTHESIS = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SCIM = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
TEAM = "urn:consent-portal:scim:schemas:extension:team:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
JSON_TYPES = ("application/json", "application/problem+json", SCIM)


@pytest.fixture(autouse=True)
def _no_rate_limit(monkeypatch):
    """Hundreds of requests per test, from one key: the budget is not under test here."""
    monkeypatch.setattr(PerClientRateThrottle, "THROTTLE_RATES", {"client": "1000000/min"})


class World:
    """Morgan manages Eve (E-1001) and four more (E-2 ... E-5) in Platform; Eve has a pending
    proposal to Applied AI; a published purpose; a webhook endpoint the key made."""

    def __init__(self, platform, payments, ai_team, manager, employee):
        self.platform, self.payments, self.ai_team, self.manager = (
            platform,
            payments,
            ai_team,
            manager,
        )
        employee.external_id = "E-1001"
        employee.save(update_fields=["external_id"])
        self.eve = employee
        self.reports = [
            make_person(
                f"e{n}@example.test", f"R {n}", platform, manager=manager, external_id=f"E-{n}"
            )
            for n in range(2, 6)
        ]
        self.deadline = minimum_deadline() + timedelta(hours=1)
        self.start = timezone.localdate(self.deadline) + timedelta(days=14)
        self.pending = services.propose_transfer(
            employee=employee,
            to_team=ai_team,
            actor=manager.user,
            role_description=ROLE,
            data_labelling_percent=40,
            start_date=self.start,
            response_deadline=self.deadline,
        )
        self.purpose = make_purpose(manager, slug="keystrokes")
        key, secret = create_key(name="HRIS", scopes=list(SCOPES))
        self.rest = APIClient()
        self.rest.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        self.endpoint, _ = create_endpoint(
            url="https://hooks.example.test/a",
            events=["consent.changed"],
            created_by=key.service_user,
        )


@pytest.fixture
def world(platform, payments, ai_team, manager, employee):
    return World(platform, payments, ai_team, manager, employee)


def _proposal_body(w, external_id="E-2"):
    return {
        "employee": external_id,
        "to_team": w.ai_team.slug,
        "role_description": ROLE,
        "data_labelling_percent": 40,
        "start_date": w.start.isoformat(),
        "response_deadline": w.deadline.isoformat(),
    }


def _scim_user(w):
    return {
        "schemas": [USER, ENTERPRISE],
        "userName": "new.person@example.test",
        "name": {"givenName": "New", "familyName": "Person"},
        "displayName": "New Person",
        "emails": [{"value": "new.person@example.test", "primary": True}],
        "title": "Engineer",
        "active": True,
        "preferredLanguage": "de-DE",
        "timezone": "Europe/Berlin",
        ENTERPRISE: {
            "employeeNumber": "E-NEW",
            "department": "payments",
            "manager": {"value": str(w.manager.pk)},
        },
    }


def _scim_group(w):
    return {
        "schemas": [GROUP, TEAM],
        "displayName": "Evaluations",
        "externalId": "T-EVAL",
        "members": [{"value": str(w.reports[0].pk)}],
        TEAM: {"headcountTarget": 4, "description": "Evaluates assistants."},
    }


def _patch(w, path, value, op="replace"):
    return {"schemas": [PATCH_OP], "Operations": [{"op": op, "path": path, "value": value}]}


# --- What an accepted body must have stored -------------------------------------------------


def _proposal_stored(w, body):
    proposal = Proposal.objects.exclude(pk=w.pending.pk).get()
    assert proposal.role_description == str(body["role_description"]).strip()
    assert proposal.employee.external_id == str(body["employee"])


def _team_stored(w, body):
    team = Team.objects.order_by("-pk").first()
    assert team.name == str(body["name"]).strip() and team.slug == str(body["slug"]).strip()


def _endpoint_stored(w, body):
    endpoint = WebhookEndpoint.objects.order_by("-pk").first()
    assert endpoint.url == body["url"] and endpoint.events == body["events"]


def _scim_user_stored(w, body):
    person = Employee.objects.order_by("-pk").first()
    assert person.user.username == str(body["userName"]).strip()


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    url: Callable
    valid: Callable
    fields: tuple = ()
    stored: Callable | None = None
    scim: bool = False
    writes: bool = True  # a search or a check answers without writing
    reads_body: bool = True  # rotating a secret takes no body: whatever is sent is ignored


def _extend_body(w):
    return {"response_deadline": (w.deadline + timedelta(days=3)).isoformat(), "reason": "Time."}


def _team_body(w):
    return {"name": "Evals", "slug": "evals", "kind": "regular", "headcount_target": 5,
            "external_id": "T-9"}  # fmt: skip


def _webhook_body(w):
    return {"url": "https://hooks.example.test/b", "events": ["consent.changed"],
            "description": "Telemetry", "owner_email": "ops@example.test"}  # fmt: skip


def _webhook_change(w):
    return {"url": "https://hooks.example.test/c", "events": ["proposal.created"],
            "is_active": False, "description": "x"}  # fmt: skip


def _checks(w):
    return {"checks": [{"employee": "E-1001", "purpose": "keystrokes"},
                       {"employee": "E-2", "purpose": "keystrokes"}]}  # fmt: skip


def _search(w):
    return {"schemas": [SEARCH], "filter": 'userName eq "e2@example.test"', "startIndex": 1,
            "count": 10}  # fmt: skip


def _proposal_url(action):
    return lambda w: f"/api/v1/proposals/{w.pending.pk}/{action}/"


def _user_url(w):
    return f"/scim/v2/Users/{w.reports[1].pk}"


def _group_url(w):
    return f"/scim/v2/Groups/{w.payments.pk}"


ENDPOINTS = [
    Endpoint("propose", "post", lambda w: "/api/v1/proposals/", _proposal_body,
             stored=_proposal_stored),
    Endpoint("withdraw proposal", "post", _proposal_url("withdraw"),
             lambda w: {"reason": "The team was cancelled."}),
    Endpoint("extend deadline", "post", _proposal_url("extend"), _extend_body),
    Endpoint("opt in (never here)", "post", _proposal_url("opt-in"),
             lambda w: {"terms_sha256": w.pending.terms_sha256}),
    Endpoint("create team", "post", lambda w: "/api/v1/teams/", _team_body, stored=_team_stored),
    Endpoint("change team", "patch", lambda w: f"/api/v1/teams/{w.payments.pk}/",
             lambda w: {"name": "Payments and Billing", "headcount_target": 8}),
    Endpoint("move someone", "patch", lambda w: f"/api/v1/employees/{w.reports[0].pk}/",
             lambda w: {"team": w.payments.slug}),
    Endpoint("register webhook", "post", lambda w: "/api/v1/webhook-endpoints/", _webhook_body,
             stored=_endpoint_stored),
    Endpoint("change webhook", "patch",
             lambda w: f"/api/v1/webhook-endpoints/{w.endpoint.pk}/", _webhook_change),
    Endpoint("rotate webhook secret", "post",
             lambda w: f"/api/v1/webhook-endpoints/{w.endpoint.pk}/rotate-secret/",
             lambda w: {"secret": "whsec_mine"}, reads_body=False),
    Endpoint("consent check batch", "post", lambda w: "/api/v1/consent/check", _checks,
             writes=False),
    Endpoint("scim: create user", "post", lambda w: "/scim/v2/Users", _scim_user,
             stored=_scim_user_stored, scim=True),
    Endpoint("scim: replace user", "put", _user_url, _scim_user, scim=True),
    Endpoint("scim: patch user", "patch", _user_url, lambda w: _patch(w, "title", "Lead"),
             scim=True),
    Endpoint("scim: create group", "post", lambda w: "/scim/v2/Groups", _scim_group, scim=True),
    Endpoint("scim: replace group", "put", _group_url, _scim_group, scim=True),
    Endpoint("scim: patch group", "patch", _group_url,
             lambda w: _patch(w, "members", [{"value": str(w.reports[2].pk)}], op="add"),
             scim=True),
    Endpoint("scim: search", "post", lambda w: "/scim/v2/Users/.search", _search, scim=True,
             writes=False),
]  # fmt: skip


def _send(w, endpoint, raw: bytes, content_type: str, **headers):
    scim_key = getattr(w, "scim_client", None)
    client = scim_key if endpoint.scim else w.rest
    return client.generic(
        endpoint.method.upper(), endpoint.url(w), raw, content_type=content_type, **headers
    )


def _field_names(endpoint, valid) -> set[str]:
    names = set(valid) | {"non_field_errors"}
    for value in valid.values():
        if isinstance(value, dict):
            names |= set(value)
    return names


def _judge(w, endpoint, body, raw, content_type, **headers):
    """Send; assert the property; return "accepted" or "rejected"."""
    before = snapshot()
    response = _send(w, endpoint, raw, content_type, **headers)
    after = snapshot()
    status = response.status_code
    if status >= 500:
        TALLY.add(endpoint.name, "server_error")
        pytest.fail(f"{endpoint.name}: {status} for {raw[:300]!r}: {response.content[:500]!r}")
    writes = changed(before, after)
    if status < 300:
        assert endpoint.writes or not writes, (endpoint.name, writes)
        if body is None:  # no JSON object: nothing to store (an empty PATCH changes nothing)
            assert not writes or endpoint.name == "rotate webhook secret", (endpoint.name, raw)
        elif writes and endpoint.stored and content_type.startswith(_content_type(endpoint)):
            endpoint.stored(w, body)
        return "accepted"
    kind = response.get("Content-Type", "")
    assert kind.startswith(JSON_TYPES), (endpoint.name, status, kind, response.content[:200])
    answer = response.json()
    if writes:
        TALLY.add(endpoint.name, "partial_write")
        pytest.fail(f"{endpoint.name}: refused ({status}) but wrote {writes}: {answer}")
    if endpoint.scim:
        assert answer["schemas"] == [SCIM_ERROR] and answer["status"] == str(status), answer
        assert str(answer.get("detail", "")).strip(), answer
    else:
        assert answer["status"] == status and str(answer["detail"]).strip(), answer
        errors = answer.get("errors")
        if isinstance(errors, dict) and isinstance(body, dict):
            known = _field_names(endpoint, endpoint.valid(w)) | set(body)
            assert set(errors) <= known, (endpoint.name, sorted(errors), sorted(known))
    return "rejected"


def _as_object(raw: bytes, content_type: str) -> dict | None:
    """The JSON object `raw` is, read in the charset its content type names; else None."""
    charset = content_type.partition("charset=")[2] or "utf-8"
    try:
        value = json.loads(raw.decode(charset))
    except (ValueError, LookupError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _encode(body) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8", errors="surrogatepass")


@pytest.fixture
def scim_ready(world):
    _, secret = create_key(name="Workday SCIM", scopes=["scim"])
    world.scim_client = APIClient()
    world.scim_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return world


def _content_type(endpoint) -> str:
    return SCIM if endpoint.scim else "application/json"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_junk_in_a_json_body_is_refused_by_name_or_stored_as_sent(endpoint, scim_ready):
    w = scim_ready
    valid = endpoint.valid(w)

    @HYPOTHESIS
    @given(body=json_object(valid, endpoint.fields or None))
    def run(body):
        sid = transaction.savepoint()
        try:
            TALLY.add(
                endpoint.name, _judge(w, endpoint, body, _encode(body), _content_type(endpoint))
            )
        finally:
            transaction.savepoint_rollback(sid)

    run()


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_a_body_that_is_no_json_object_is_refused(endpoint, scim_ready):
    w = scim_ready

    @settings(HYPOTHESIS, max_examples=12)
    @given(
        raw=NOT_AN_OBJECT,
        content_type=st.sampled_from(
            [_content_type(endpoint), "application/json; charset=latin-1", "text/plain",
             "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""]
        ),
    )  # fmt: skip
    def run(raw, content_type):
        sid = transaction.savepoint()
        try:
            body = _as_object(raw, content_type)  # Latin-1 that says so is a JSON object too
            TALLY.add(endpoint.name, _judge(w, endpoint, body, raw, content_type))
        finally:
            transaction.savepoint_rollback(sid)

    run()


# --- Every text field, one at a time, with what no column can hold -------------------------


def _leaves(value, path=()):
    """Paths to every scalar in a JSON body (into objects, and lists of objects)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaves(inner, (*path, key))
    elif isinstance(value, list) and value and isinstance(value[0], (dict, list)):
        yield from _leaves(value[0], (*path, 0))
    else:
        yield path


def _with(value, path, new):
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, list):
        return [_with(value[0], rest, new), *value[1:]]
    return {**value, head: _with(value[head], rest, new)}


API_SWEEP = ("a\x00b", "\ud800", "²", "x" * 100_000)


def test_every_field_refuses_text_no_column_can_hold(scim_ready):
    """NUL, a lone surrogate (escaped: valid JSON), "²" and 100,000 characters in each field
    of each endpoint's body in turn: refused in words, or stored as sent."""
    w, tried = scim_ready, 0
    for endpoint in ENDPOINTS:
        valid = endpoint.valid(w)
        for path in _leaves(valid):
            for value in API_SWEEP:
                body = _with(valid, path, value)
                raw = json.dumps(body).encode()  # ASCII: the surrogate escaped, as \ud800
                sid = transaction.savepoint()
                try:
                    outcome = _judge(w, endpoint, body, raw, _content_type(endpoint))
                    if ("\x00" in value or "\ud800" in value) and endpoint.reads_body:
                        assert outcome == "rejected", (endpoint.name, path, value[:20])
                    TALLY.add(endpoint.name, outcome)
                    tried += 1
                finally:
                    transaction.savepoint_rollback(sid)
    assert tried > 300


# --- SCIM ids and filters: in a path, a filter, a member, a manager ------------------------


@HYPOTHESIS
@given(
    value=st.one_of(st.sampled_from(["²", "٣", "1" * 19, "-1", "0x1", "1 ", "１"]), hostile_text()),
    where=st.sampled_from(["path", "filter", "member", "manager"]),
    kind=st.sampled_from(["Users", "Groups"]),
    method=st.sampled_from(["get", "put", "patch", "delete"]),
)
def test_a_hostile_scim_id_is_refused_in_words(scim_ready, value, where, kind, method):
    """Ids are digits a bigint holds; "²" and "٣" are digits to Python's isdigit() too."""
    w = scim_ready
    body = _scim_user(w) if kind == "Users" else _scim_group(w)
    url, verb = f"/scim/v2/{kind}", "post"
    if where == "path":
        url, verb = f"/scim/v2/{kind}/{quote(value, safe='')}", method
        body = _patch(w, "title", "x") if method == "patch" else body
    elif where == "filter":
        url, verb, body = (
            f"/scim/v2/{kind}?filter={quote(f'id eq {json.dumps(value)}')}",
            "get",
            None,
        )
    elif where == "member" and kind == "Groups":
        body["members"] = [{"value": value}]
    else:
        body = _scim_user(w)
        body[ENTERPRISE]["manager"] = {"value": value}
        url = "/scim/v2/Users"
    endpoint = Endpoint(f"scim: {where}", verb, lambda _w: url, lambda _w: body or {}, scim=True)
    sid = transaction.savepoint()
    try:
        raw = b"" if body is None else _encode(body)
        TALLY.add(endpoint.name, _judge(w, endpoint, body, raw, SCIM))
    finally:
        transaction.savepoint_rollback(sid)


# --- Bulk: all or nothing, each bad item named by its index ----------------------------------


@HYPOTHESIS
@given(data=st.data())
def test_a_bulk_with_bad_items_names_each_and_creates_nothing(world, data):
    items = [_proposal_body(world, p.external_id) for p in world.reports]
    spoiled = data.draw(st.sets(st.integers(0, len(items) - 1), max_size=3), label="spoiled")
    for index in sorted(spoiled):
        items[index] = data.draw(
            st.one_of(json_object(items[index]), JSON_JUNK), label=f"item {index}"
        )
    endpoint = Endpoint("bulk propose", "post", lambda w: "/api/v1/proposals/bulk/", dict)
    sid = transaction.savepoint()
    try:
        before = snapshot()
        response = world.rest.post(
            endpoint.url(world), _encode({"proposals": items}), content_type="application/json"
        )
        after = snapshot()
        assert response.status_code < 500, response.content[:500]
        if response.status_code == 201:
            assert len(response.json()) == len(items)
            assert Proposal.objects.exclude(pk=world.pending.pk).count() == len(items)
            TALLY.add("bulk propose", "accepted")
        else:
            assert response.status_code == 400, response.content[:300]
            assert not changed(before, after), changed(before, after)
            answer = response.json()
            named = {item["index"] for item in answer.get("items", [])}
            # Each bad item by its index; or, for text no item may hold (a NUL), the body.
            assert named <= spoiled and (named or answer["detail"]), (named, spoiled, answer)
            assert named or "NUL" in answer["detail"], answer
            TALLY.add("bulk propose", "rejected")
    finally:
        transaction.savepoint_rollback(sid)


def test_a_bulk_over_the_limit_or_of_the_wrong_shape_is_refused(world):
    for body, status in (
        ({"proposals": [_proposal_body(world)] * 10_001}, 413),
        ({"proposals": []}, 400),
        ({"proposals": {"0": _proposal_body(world)}}, 400),
        ([_proposal_body(world)], 400),
    ):
        before = snapshot()
        response = world.rest.post("/api/v1/proposals/bulk/", body, format="json")
        assert response.status_code == status, (status, response.content[:200])
        assert response.json()["detail"] and not changed(before, snapshot())
        TALLY.add("bulk propose", "rejected")


# --- The consent check's query string, and Idempotency-Key ----------------------------------


@HYPOTHESIS
@given(employee=hostile_text(), purpose=hostile_text())
def test_a_hostile_consent_check_is_never_allowed_nor_a_server_error(world, employee, purpose):
    response = world.rest.get("/api/v1/consent/check", {"employee": employee, "purpose": purpose})
    assert response.status_code in (200, 400, 404), (employee, purpose, response.status_code)
    body = response.json()
    assert body.get("allowed") in (False, None), body  # nobody has opted in
    TALLY.add("consent check", "rejected" if response.status_code != 200 else "accepted")


@HYPOTHESIS
@given(key=st.one_of(hostile_text().filter(lambda k: "\x00" not in k), st.just("k" * 256)))
def test_a_hostile_idempotency_key_is_refused_or_replays_a_refusal(world, key):
    """A refused body with an Idempotency-Key: the same refusal twice, and nothing but the
    key's own record written (which is how the replay is answered)."""
    key = key.encode("latin-1", errors="replace").decode("latin-1")  # what a header can hold
    sid = transaction.savepoint()
    try:
        before = snapshot()
        answers = [
            world.rest.post(
                "/api/v1/proposals/", {"employee": key}, format="json", HTTP_IDEMPOTENCY_KEY=key
            )
            for _ in range(2)
        ]
        assert [a.status_code for a in answers] == [400, 400], [a.content[:200] for a in answers]
        assert answers[0].json() == answers[1].json()
        assert set(changed(before, snapshot())) <= {"api_idempotencyrecord"}
        TALLY.add("idempotency key", "rejected")
    finally:
        transaction.savepoint_rollback(sid)


def test_zz_summary(capsys):
    with capsys.disabled():
        print("\n" + TALLY.line("endpoints", inputs="bodies"))
    assert TALLY.counts["server_error"] == 0 and TALLY.counts["partial_write"] == 0
