"""Data-use purposes and the consent check over REST (/api/v1/...), for data collectors.

`GET purposes/` lists the published purposes (newest version of each); `GET consent/check`
answers one (employee, purpose) pair and `POST consent/check` up to 1,000, in a constant number
of queries. All need the `consent:check` scope: a collector needs the purposes' slugs to ask.
The check is for API keys only: a signed-in person would otherwise learn someone else's choice,
so a browser session gets 403 (the person sees their own choices on /privacy/). Each answered
check is a read of an identifiable person's consent data by someone else, so it is logged
(datause.checklog: spooled before the answer goes out, counted per key, person, purpose and
day). Nothing here decides: only the person does.

The check is the hot path of every data pipeline, so both the single GET and the batch POST
are a plain Django view (`consent_check`), not a DRF one: it authenticates the key, counts it
against a per-process budget (`CheckBudget`, no Redis), answers from this process' cache
(datause.checkcache, api.coherence) and writes the JSON with orjson. The DRF `ConsentCheck`
view describes both methods in the OpenAPI schema and serves the rest (a batch with an
Idempotency-Key, a body the fast path leaves to StrictJSONParser for its exact error, OPTIONS).
"""

import math
import os
import threading
import time
from urllib.parse import unquote_plus

import orjson
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle
from rest_framework.views import APIView

from api.authentication import ApiClient, client_for_secret
from api.errors import PROBLEM, TITLES, TYPE_BASE, problem
from api.idempotency import idempotent
from api.permissions import is_api_client
from api.throttling import PerClientRateThrottle
from datause import check, checkcache, checklog
from datause.selectors import current_purposes

SCOPE = "consent:check"


class PurposeSerializer(serializers.Serializer):
    slug = serializers.CharField()
    version = serializers.IntegerField()
    title = serializers.CharField()
    categories = serializers.ListField(child=serializers.CharField())
    why = serializers.CharField()
    retention = serializers.CharField()
    access = serializers.CharField()
    collecting_system = serializers.CharField()
    validity_months = serializers.IntegerField()
    owner = serializers.CharField(source="owner.name")
    approver_kind = serializers.CharField()
    approved_on = serializers.DateField()
    approval_reference = serializers.CharField()
    terms_sha256 = serializers.CharField()
    published_at = serializers.DateTimeField()


class AnswerSerializer(serializers.Serializer):
    employee = serializers.CharField()
    purpose = serializers.CharField()
    allowed = serializers.BooleanField()
    purpose_version = serializers.IntegerField()
    record_id = serializers.IntegerField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    valid_until = serializers.DateTimeField(allow_null=True)


class BatchItemSerializer(serializers.Serializer):
    """One answer of a batch: 200 with the answer, or 404 for an unknown employee or purpose
    (then only employee, purpose, allowed=false, status and detail)."""

    employee = serializers.CharField()
    purpose = serializers.CharField()
    allowed = serializers.BooleanField()
    purpose_version = serializers.IntegerField(required=False)
    record_id = serializers.IntegerField(allow_null=True, required=False)
    decided_at = serializers.DateTimeField(allow_null=True, required=False)
    valid_until = serializers.DateTimeField(allow_null=True, required=False)
    status = serializers.IntegerField(help_text="200, or 404 for an unknown employee or purpose")
    detail = serializers.CharField(required=False)


class BatchAnswerSerializer(serializers.Serializer):
    results = BatchItemSerializer(many=True)


class PairSerializer(serializers.Serializer):
    employee = serializers.CharField(help_text="HRIS external id")
    purpose = serializers.CharField(help_text="purpose slug")


class BatchSerializer(serializers.Serializer):
    checks = PairSerializer(many=True, max_length=1000)


class PurposeList(APIView):
    required_scopes = {"GET": SCOPE}

    @extend_schema(
        summary="Published data-use purposes (scope consent:check)",
        responses=PurposeSerializer(many=True),
    )
    def get(self, request):
        return Response(PurposeSerializer(current_purposes(), many=True).data)


SCOPE_MISSING = f"This API key lacks the `{SCOPE}` scope this endpoint needs."
FOR_KEYS_ONLY = (
    "The consent check is for data collectors' API keys (scope consent:check); "
    "people see their own choices on /privacy/."
)
SEND_CHECKS = 'Send {"checks": [{"employee": ..., "purpose": ...}, ...]}.'
MALFORMED_ITEM = "needs `employee` and `purpose`, both strings"
TOO_LARGE = "The request body is too large; send fewer items per request."


def _unknown(employee: str, slug: str, answer: checkcache.Answer) -> tuple[str, str] | None:
    """(problem slug, detail) when the employee or the purpose is unknown: never allowed."""
    if answer.user_id is None:
        return "unknown-employee", f"No employee has the external id {employee!r}; not allowed."
    if answer.purpose is None:
        return "unknown-purpose", f"No published purpose has the slug {slug!r}; not allowed."
    return None


# --- the per-process rate limit ------------------------------------------------------------


def _web_workers() -> int:
    """How many web processes share the configured rate: GUNICORN_WORKERS, as
    portal/gunicorn.conf.py reads it (and with its default, 3)."""
    try:
        return max(1, int(os.environ.get("GUNICORN_WORKERS", "3")))
    except ValueError:
        return 3


class CheckBudget:
    """The consent check's rate limit: a token bucket per key in this process, no Redis.

    The check answers from memory in well under a millisecond; counting it in Redis, as
    api.throttling does for the rest of the API, would cost more than the answer. Each process
    gets the configured rate (`PORTAL_API_RATE`, e.g. 600/min) divided by the number of web
    processes (`GUNICORN_WORKERS`): a key may burst that share at once and earns it back
    evenly over the period. Requests reach processes about evenly, so a key's total is about
    the configured rate; a restarted process starts with a full bucket. One request (a single
    check or a batch of up to 1,000) costs one token, as it does in DRF's throttle.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._buckets: dict[int, tuple[float, float]] = {}  # key id -> (tokens, monotonic time)
        self._rate_text = None
        self._capacity = self._refill = 0.0

    def _configure(self, text: str) -> None:
        number, seconds = SimpleRateThrottle.parse_rate(None, text)
        self._capacity = max(1.0, number / _web_workers())
        self._refill = self._capacity / seconds  # tokens per second
        self._buckets.clear()
        self._rate_text = text

    def take(self, key_id: int) -> float:
        """0 when this request may go ahead (and it is counted), else seconds to wait."""
        text = PerClientRateThrottle.THROTTLE_RATES.get(PerClientRateThrottle.scope)
        if text is None:
            return 0.0
        at = time.monotonic()
        with self._lock:
            if text != self._rate_text:
                self._configure(text)
            tokens, then = self._buckets.get(key_id, (self._capacity, at))
            tokens = min(self._capacity, tokens + (at - then) * self._refill)
            if tokens >= 1.0:
                self._buckets[key_id] = (tokens - 1.0, at)
                return 0.0
            self._buckets[key_id] = (tokens, at)
            return (1.0 - tokens) / self._refill


BUDGET = CheckBudget()
_CHARGED = "_consent_check_charged"  # set on a request the fast path has already counted


class CheckThrottle(BaseThrottle):
    """CheckBudget for the DRF view (a batch with an Idempotency-Key, OPTIONS, odd bodies)."""

    def allow_request(self, request, view):
        if not is_api_client(request.user) or getattr(request._request, _CHARGED, False):
            return True
        self._wait = BUDGET.take(request.user.key_id)
        return self._wait == 0.0

    def wait(self):
        return self._wait


def _throttled(wait: float) -> HttpResponse:
    seconds = max(1, math.ceil(wait))
    response = _problem(429, f"Request was throttled. Expected available in {seconds} seconds.")
    response["Retry-After"] = str(seconds)
    return response


# --- the batch, shared by both views -------------------------------------------------------


def _pairs_of(data) -> tuple[list[tuple[str, str]], tuple[str, dict] | None]:
    """The batch's (employee, purpose) pairs, or (detail, extra) for its 400: the shape, the
    size, and every malformed item by index."""
    checks = data.get("checks") if isinstance(data, dict) else None
    if not isinstance(checks, list) or not checks:
        return [], (SEND_CHECKS, {})
    if len(checks) > check.BATCH_LIMIT:
        return [], (f"At most {check.BATCH_LIMIT} checks per request; got {len(checks)}.", {})
    pairs, errors = [], []
    for index, item in enumerate(checks):
        employee = item.get("employee") if isinstance(item, dict) else None
        slug = item.get("purpose") if isinstance(item, dict) else None
        if not (isinstance(employee, str) and employee.strip()) or not (
            isinstance(slug, str) and slug.strip()
        ):
            errors.append({"index": index, "detail": MALFORMED_ITEM})
            continue
        pairs.append((employee.strip(), slug.strip()))
    if errors:
        return [], (f"{len(errors)} check(s) are malformed.", {"errors": errors})
    return pairs, None


def _results(key_id: int, pairs: list[tuple[str, str]]) -> list[dict]:
    """The answers, in order: from this process' cache, and one statement for the rest,
    whatever the size. Logged (spooled) before they leave, like the single check."""
    answers = checkcache.lookup_many(pairs)
    now = checkcache.now()
    results, answered = [], []
    for (employee, slug), answer in zip(pairs, answers, strict=True):
        unknown = _unknown(employee, slug, answer)
        if unknown:
            # Unknown: never allowed, and said so per item (the rest of the batch stands).
            results.append(
                {"employee": employee, "purpose": slug, "allowed": False,
                 "status": 404, "detail": unknown[0].replace("-", " ")}
            )  # fmt: skip
            continue
        answered.append((answer.user_id, slug, answer.purpose.version))
        body = answer.body(employee, slug, now)
        body["status"] = 200
        results.append(body)
    checklog.record_many(key_id, answered)
    return results


class ConsentCheck(APIView):
    """The OpenAPI description of both methods. GET and the plain JSON POST are served by
    `consent_check` below, which answers exactly as documented here; this view serves what is
    left (a batch with an Idempotency-Key, a body the fast path does not parse, OPTIONS)."""

    required_scopes = {"GET": SCOPE, "WRITE": SCOPE}
    throttle_classes = [CheckThrottle]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not is_api_client(request.user):
            raise PermissionDenied(FOR_KEYS_ONLY)

    @extend_schema(
        summary="May this person's data be collected for this purpose? (scope consent:check)",
        description=(
            "Answered from each web process' cache, which every withdrawal, opt-out, opt-in and "
            "new purpose version invalidates before it commits: it never says allowed after "
            "one of those has committed, nor after the consent lapsed (`valid_until`). "
            "Unknown employee or purpose: 404, never allowed."
        ),
        parameters=[
            OpenApiParameter("employee", str, required=True, description="HRIS external id"),
            OpenApiParameter("purpose", str, required=True, description="purpose slug"),
        ],
        responses=AnswerSerializer,
    )
    def get(self, request):
        return _answer_get(request._request, request.user)

    @extend_schema(
        summary="Up to 1,000 checks at once (scope consent:check)",
        request=BatchSerializer,
        responses=BatchAnswerSerializer,
    )
    @idempotent
    def post(self, request):
        pairs, refused = _pairs_of(request.data)
        if refused:
            return problem(400, refused[0], slug="check", **refused[1])
        return Response({"results": _results(request.user.key_id, pairs)})


_drf_view = ConsentCheck.as_view()


def _json(status: int, body: dict, content_type: str = "application/json") -> HttpResponse:
    # orjson writes what DRF's JSONRenderer writes here (compact, UTF-8), several times faster.
    return HttpResponse(orjson.dumps(body), status=status, content_type=content_type)


def _problem(status: int, detail: str, *, slug: str = "", **extra) -> HttpResponse:
    """The same problem-details body as api.errors.problem, without DRF."""
    body = {
        "type": TYPE_BASE + (slug or str(status)),
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    response = _json(status, body, PROBLEM)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _params(query: str) -> tuple[str, str]:
    """`employee` and `purpose` from the query string (the first of each, stripped); a plain
    split, because building request.GET's QueryDict costs more than the cached answer."""
    found = {}
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name in ("employee", "purpose") and name not in found:
            found[name] = unquote_plus(value) if "%" in value or "+" in value else value
    return found.get("employee", "").strip(), found.get("purpose", "").strip()


def _client(request) -> ApiClient | HttpResponse:
    """The request's key with the scope, counted against its budget; or the 401/403/429.
    In DRF's order: authentication, permission, throttle."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.startswith("Bearer "):
        parts = header.split()
        if len(parts) != 2:
            return _problem(401, "Send the key as `Authorization: Bearer <key>`.")
        client = client_for_secret(parts[1])
        if client is None:
            return _problem(401, "This API key is unknown or was revoked.")
    elif getattr(request, "user", None) is not None and request.user.is_authenticated:
        return _problem(403, FOR_KEYS_ONLY)
    else:
        return _problem(401, "Authentication credentials were not provided.")
    if SCOPE not in client.scopes:
        return _problem(403, SCOPE_MISSING)
    wait = BUDGET.take(client.key_id)
    if wait:
        return _throttled(wait)
    setattr(request, _CHARGED, True)
    return client


def _answer_get(request, client=None) -> HttpResponse:
    """GET consent/check; `client` when DRF has already authenticated and counted it."""
    if client is None:
        client = _client(request)
        if isinstance(client, HttpResponse):
            return client
    elif SCOPE not in client.scopes:
        return _problem(403, SCOPE_MISSING)
    employee, slug = _params(request.META.get("QUERY_STRING", ""))
    if not employee or not slug:
        return _problem(
            400, "Give both `employee` (external id) and `purpose` (slug).", slug="check"
        )
    if "\x00" in employee or "\x00" in slug:  # %00: no id or slug has one, nor can a query
        return _problem(400, "`employee` and `purpose` cannot contain a NUL (%00).", slug="check")
    answer = checkcache.lookup(employee, slug)
    unknown = _unknown(employee, slug, answer)
    if unknown:
        return _problem(404, unknown[1], slug=unknown[0], allowed=False)
    now = checkcache.now()
    # Logged before the answer leaves: one append to this process' spool (datause.checklog).
    checklog.record(client.key_id, answer.user_id, slug, answer.purpose.version, now)
    return _json(200, answer.body(employee, slug, now))


def _plain_json(request) -> bool:
    """A POST the fast path parses: a JSON body in UTF-8 and no Idempotency-Key (whose
    records, see api.idempotency, the DRF view keeps)."""
    return (
        request.content_type == "application/json"
        and (request.encoding or "utf-8").lower() in ("utf-8", "utf8")
        and "HTTP_IDEMPOTENCY_KEY" not in request.META
    )


def _answer_post(request) -> HttpResponse:
    """POST consent/check with a plain JSON body: the batch without DRF's request parsing and
    response rendering (most of a 1,000-pair batch's time), answering as the DRF view does."""
    client = _client(request)
    if isinstance(client, HttpResponse):
        return client
    try:
        body = request.body  # refused above DATA_UPLOAD_MAX_MEMORY_SIZE
    except RequestDataTooBig:
        return _problem(413, TOO_LARGE)
    # api.parsers.StrictJSONParser refuses NUL (escaped: a raw one is no valid JSON) and lone
    # surrogates (orjson refuses them too); for those, and for any body orjson cannot parse,
    # the DRF view gives today's exact error (the request is not counted twice).
    if b"\\u0000" in body:
        return _drf_view(request)
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _drf_view(request)
    pairs, refused = _pairs_of(data)
    if refused:
        return _problem(400, refused[0], slug="check", **refused[1])
    return _json(200, {"results": _results(client.key_id, pairs)})


@csrf_exempt
def consent_check(request, *args, **kwargs):
    """GET (and HEAD) and the plain JSON POST: the fast paths. Anything else: the DRF view."""
    if request.method in ("GET", "HEAD"):
        return _answer_get(request)
    if request.method == "POST" and _plain_json(request):
        return _answer_post(request)
    return _drf_view(request, *args, **kwargs)


# drf-spectacular documents a URL by its view class: this one is described by ConsentCheck.
consent_check.cls = ConsentCheck
consent_check.initkwargs = _drf_view.initkwargs


urlpatterns = [
    path("purposes/", PurposeList.as_view(), name="datause-purposes"),
    path("consent/check", consent_check, name="consent-check"),
]
