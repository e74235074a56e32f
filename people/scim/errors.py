"""Every SCIM error as a SCIM error body (RFC 7644 §3.12), never the REST API's problem
details: `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "409",
"scimType": "mutability", "detail": "..."}`, sent as `application/scim+json`.

The SCIM views name this handler themselves (`get_exception_handler`), so the REST API's
handler (api.errors) never sees their errors, and this one never sees the REST API's.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from pydantic import ValidationError
from rest_framework import exceptions
from rest_framework.response import Response
from scim2_models import Error, SCIMException

from people.scim.resources import CONTENT_TYPE
from people.services import TeamChangeRefused, TeamKindRefused
from portal.errors import TransitionError

logger = logging.getLogger(__name__)

# Messages of the database guards (people/migrations/0004, assignments/migrations/0002):
# a refusal that got past the services, e.g. in a race, is still a 409 about the rule.
GUARD_WORDS = ("only through a move", "AI-initiative", "AI initiative", "team change")


def error_response(
    status: int, detail: str, *, scim_type: str | None = None, headers: dict | None = None
) -> Response:
    body = Error(status=status, scim_type=scim_type, detail=detail).model_dump()
    return Response(body, status=status, content_type=CONTENT_TYPE, headers=headers)


def _from_error(error: Error, headers: dict | None = None) -> Response:
    return Response(
        error.model_dump(),
        status=int(error.status or 500),
        content_type=CONTENT_TYPE,
        headers=headers,
    )


def _integrity(exc: IntegrityError) -> Response:
    text = str(exc)
    if any(words in text for words in GUARD_WORDS):
        return error_response(409, text.splitlines()[0], scim_type="mutability")
    # A unique value taken by a concurrent request between our check and our write.
    return error_response(
        409, "A unique attribute of this resource is already taken.", scim_type="uniqueness"
    )


def exception_handler(exc, context) -> Response:
    if isinstance(exc, SCIMException):
        return _from_error(exc.to_error())
    if isinstance(exc, ValidationError):  # a request body scim2-models refused
        errors = Error.from_validation_errors(exc)
        return _from_error(errors[0]) if errors else error_response(400, str(exc))
    if isinstance(exc, (TeamChangeRefused, TeamKindRefused)):
        return error_response(409, exc.message, scim_type="mutability")
    if isinstance(exc, TransitionError):
        return error_response(409, exc.message)
    if isinstance(exc, DjangoValidationError):
        return error_response(400, " ".join(exc.messages), scim_type="invalidValue")
    if isinstance(exc, IntegrityError):
        return _integrity(exc)
    if isinstance(exc, RequestDataTooBig):
        return error_response(413, "The request body is too large for this service.")
    if isinstance(exc, SuspiciousOperation):
        return error_response(400, "The request was refused.")
    if isinstance(exc, Http404):
        return error_response(404, "Not found.")
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        scim_type = "invalidSyntax" if isinstance(exc, exceptions.ParseError) else None
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return error_response(exc.status_code, detail, scim_type=scim_type, headers=headers)
    logger.exception("SCIM request failed", exc_info=exc)
    return error_response(500, "The server failed to handle this request.")
