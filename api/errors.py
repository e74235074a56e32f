"""Every API error in one shape: RFC 9457 problem details (`application/problem+json`).

Domain errors become HTTP answers here and nowhere else: TransitionError -> 409, Django's
ValidationError -> 400 with per-field errors, PermissionDenied -> 403, missing -> 404.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from portal.errors import TransitionError

PROBLEM = "application/problem+json"
TYPE_BASE = "https://consent-portal.invalid/problems/"

TITLES = {
    400: "Invalid request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Server error",
}


class ProblemRenderer(JSONRenderer):
    media_type = PROBLEM
    format = "problem"


def problem(status_code: int, detail: str, *, slug: str = "", **extra) -> Response:
    body = {
        "type": TYPE_BASE + (slug or str(status_code)),
        "title": TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
        **extra,
    }
    return Response(body, status=status_code, content_type=PROBLEM)


def _flatten(detail) -> dict | list | str:
    if isinstance(detail, dict):
        return {k: _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_flatten(v) for v in detail]
    return str(detail)


def exception_handler(exc, context):
    if isinstance(exc, TransitionError):
        return problem(status.HTTP_409_CONFLICT, exc.message, slug="transition")
    if isinstance(exc, DjangoValidationError):
        errors = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        return problem(400, "The request has invalid fields.", slug="validation", errors=errors)
    if isinstance(exc, RequestDataTooBig):
        return problem(413, "The request body is too large; send fewer items per request.")
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_handler(exc, context)
    if response is None:
        return None
    detail = getattr(exc, "detail", "")
    extra = {}
    if isinstance(detail, (dict, list)):
        extra["errors"] = _flatten(detail)
        message = "The request has invalid fields." if response.status_code == 400 else ""
    else:
        message = str(detail)
    body = problem(
        response.status_code, message or TITLES.get(response.status_code, "Error"), **extra
    )
    for header in ("Retry-After", "WWW-Authenticate", "Allow"):
        if header in response:
            body[header] = response[header]
    return body
