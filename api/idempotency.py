"""`Idempotency-Key` on POST: the same key and body returns the first response and creates
nothing new; the same key with another body is 422; a duplicate while the first is still
running is 409.

Records are kept for settings.PORTAL_IDEMPOTENCY_RETENTION_HOURS (24 h by default, as Stripe
does): a retry within that window is answered from the record; after it, the key is free again
and the request runs anew. `prune_idempotency_records` (every hour from beat) deletes older ones.

The claim is an insert committed before the work starts, so two concurrent requests with one
key cannot both run: the second finds the claim and answers 409. A failed request (an
exception or a 5xx) releases its claim, so the client may retry with the same key.
"""

import functools
import hashlib
import json
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from api.authentication import ApiClient
from api.errors import PROBLEM, problem
from api.models import IdempotencyRecord

HEADER = "Idempotency-Key"


def _client(user) -> str:
    return user.client_id if isinstance(user, ApiClient) else f"user:{user.pk}"


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def idempotent(post):
    @functools.wraps(post)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return post(self, request, *args, **kwargs)
        if not key.strip() or len(key) > 255:
            return problem(400, f"{HEADER} must be 1 to 255 characters.", slug="idempotency")
        client, where = _client(request.user), f"{request.method} {request.path}"
        digest = _fingerprint(request)
        try:
            with transaction.atomic():
                claim = IdempotencyRecord.objects.create(
                    client=client, key=key, method_path=where, request_sha256=digest
                )
        except IntegrityError:
            first = IdempotencyRecord.objects.filter(client=client, key=key).first()
            if first is None:  # released between our insert and this read: try once more
                return wrapper(self, request, *args, **kwargs)
            if first.request_sha256 != digest or first.method_path != where:
                return problem(
                    422,
                    f"This {HEADER} was already used for a different request; use a new key.",
                    slug="idempotency-mismatch",
                )
            if first.status_code is None:
                return problem(
                    409,
                    f"A request with this {HEADER} is still being processed; retry shortly.",
                    slug="idempotency-in-progress",
                )
            return Response(
                first.response_body,
                status=first.status_code,
                headers={"Idempotent-Replayed": "true"},
                content_type=PROBLEM if first.status_code >= 400 else None,
            )
        try:
            response = post(self, request, *args, **kwargs)
        except Exception:
            claim.delete()
            raise
        if response.status_code >= 500:
            claim.delete()
            return response
        IdempotencyRecord.objects.filter(pk=claim.pk).update(
            status_code=response.status_code, response_body=response.data
        )
        return response

    return wrapper


def prune_idempotency_records(*, now: datetime | None = None, chunk: int = 5000) -> int:
    """Delete records older than the retention window; returns how many.

    Claims still marked in progress go too: their request died without releasing them (a
    killed process), and its key must not answer 409 for ever. Deleted in chunks, so a large
    backlog never holds one long lock on the table.
    """
    cutoff = (now or timezone.now()) - timedelta(hours=settings.PORTAL_IDEMPOTENCY_RETENTION_HOURS)
    deleted = 0
    while True:
        ids = list(
            IdempotencyRecord.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[
                :chunk
            ]
        )
        if not ids:
            return deleted
        deleted += IdempotencyRecord.objects.filter(pk__in=ids).delete()[0]
