"""Data-use purposes and the consent check over REST (/api/v1/...), for data collectors.

`GET purposes/` lists the published purposes (newest version of each); `GET consent/check`
answers one (employee, purpose) pair and `POST consent/check` up to 1,000, in a constant number
of queries. All need the `consent:check` scope: a collector needs the purposes' slugs to ask.
The check is for API keys only: a signed-in person would otherwise learn someone else's choice,
so a browser session gets 403 (the person sees their own choices on /privacy/). Each check is a
read of an identifiable person's consent data by someone else, so it is access-logged (one
INSERT per request, whatever the batch size). Nothing here decides: only the person does.
"""

from dataclasses import dataclass

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import problem
from api.idempotency import idempotent
from api.permissions import is_api_client
from consent.access import record_reads
from consent.models import AccessLogEntry
from datause import check
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


@dataclass(frozen=True)
class _Viewer:
    pk: int  # the key's service account: who read, in the access log


def _log(request, resolved: check.Resolved, slugs) -> None:
    record_reads(
        viewer=_Viewer(request.user.user_id),
        subjects=resolved.subject_ids.values(),
        page="api:consent-check",
        purpose=f"consent check by {request.user.name}: {', '.join(sorted(slugs))}"[:500],
        channel=AccessLogEntry.Channel.API,
    )


def _item(pair, result) -> dict:
    return {"employee": pair[0], "purpose": pair[1], **result}


class ConsentCheck(APIView):
    required_scopes = {"GET": SCOPE, "WRITE": SCOPE}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not is_api_client(request.user):
            raise PermissionDenied(
                "The consent check is for data collectors' API keys (scope consent:check); "
                "people see their own choices on /privacy/."
            )

    @extend_schema(
        summary="May this person's data be collected for this purpose? (scope consent:check)",
        parameters=[
            OpenApiParameter("employee", str, required=True, description="HRIS external id"),
            OpenApiParameter("purpose", str, required=True, description="purpose slug"),
        ],
        responses=AnswerSerializer,
    )
    def get(self, request):
        employee = request.query_params.get("employee", "").strip()
        slug = request.query_params.get("purpose", "").strip()
        if not employee or not slug:
            return problem(
                400, "Give both `employee` (external id) and `purpose` (slug).", slug="check"
            )
        resolved = check.resolve([(employee, slug)])
        _log(request, resolved, [slug])
        if resolved.unknown_employees:
            return problem(
                404, f"No employee has the external id {employee!r}; not allowed.",
                slug="unknown-employee", allowed=False,
            )  # fmt: skip
        if resolved.unknown_purposes:
            return problem(
                404, f"No published purpose has the slug {slug!r}; not allowed.",
                slug="unknown-purpose", allowed=False,
            )  # fmt: skip
        return Response(AnswerSerializer(_item((employee, slug), resolved.answers[0])).data)

    @extend_schema(
        summary="Up to 1,000 checks at once (scope consent:check)",
        request=BatchSerializer,
        responses=BatchAnswerSerializer,
    )
    @idempotent
    def post(self, request):
        checks = request.data.get("checks") if isinstance(request.data, dict) else None
        if not isinstance(checks, list) or not checks:
            return problem(
                400, 'Send {"checks": [{"employee": ..., "purpose": ...}, ...]}.', slug="check"
            )
        if len(checks) > check.BATCH_LIMIT:
            return problem(
                400, f"At most {check.BATCH_LIMIT} checks per request; got {len(checks)}.",
                slug="check",
            )  # fmt: skip
        pairs, errors = [], []
        for index, item in enumerate(checks):
            employee = item.get("employee") if isinstance(item, dict) else None
            slug = item.get("purpose") if isinstance(item, dict) else None
            if not (isinstance(employee, str) and employee.strip()) or not (
                isinstance(slug, str) and slug.strip()
            ):
                errors.append(
                    {"index": index, "detail": "needs `employee` and `purpose`, both strings"}
                )
                continue
            pairs.append((employee.strip(), slug.strip()))
        if errors:
            return problem(
                400, f"{len(errors)} check(s) are malformed.", slug="check", errors=errors
            )
        resolved = check.resolve(pairs)
        _log(request, resolved, {s for _, s in pairs})
        results = []
        for pair, result in zip(pairs, resolved.answers, strict=True):
            if result is None:
                # Unknown: never allowed, and said so per item (the rest of the batch stands).
                unknown = "employee" if pair[0] in resolved.unknown_employees else "purpose"
                results.append(
                    {"employee": pair[0], "purpose": pair[1], "allowed": False,
                     "status": 404, "detail": f"unknown {unknown}"}
                )  # fmt: skip
                continue
            results.append({**AnswerSerializer(_item(pair, result)).data, "status": 200})
        return Response({"results": results})


urlpatterns = [
    path("purposes/", PurposeList.as_view(), name="datause-purposes"),
    path("consent/check", ConsentCheck.as_view(), name="consent-check"),
]
