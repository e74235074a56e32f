"""Registering endpoints, turning outbox events into deliveries, and delivering them.

Exactly once in effect: a delivery is unique per endpoint and event; it is claimed with a row
lock while it is sent, and marked delivered in the same transaction, so a second worker finds
it locked or done. A receiver that is slow to answer 2xx may see a message twice after a crash;
the `webhook-id` header stays the same on every retry, so it can recognise the copy.
"""

import json
import logging
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from urllib.parse import urlparse

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from consent.access import record_pairs
from consent.models import AccessLogEntry
from webhooks import signing
from webhooks.models import EVENTS, WebhookAttempt, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

# Seconds to wait after each failed attempt: exponential, then daily; about 2.3 days in all,
# so a receiver that is down for a day still gets every message.
BACKOFF = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 86400)
TIMEOUT_SECONDS = 10
ROTATION_GRACE = timedelta(hours=24)
TEST_TOPIC = "webhook.test"


def _validate(url: str, events: list) -> list[str]:
    errors = {}
    parsed = urlparse(url or "")
    if parsed.scheme not in ("https", "http") or not parsed.netloc:
        errors["url"] = "Give an absolute http(s) URL, e.g. https://hris.example.com/hooks."
    if not isinstance(events, list) or not events:
        errors["events"] = f"Subscribe to at least one event: {', '.join(EVENTS)}."
    else:
        unknown = [e for e in events if e not in EVENTS]
        if unknown:
            errors["events"] = (
                f"Unknown event(s): {', '.join(map(str, unknown))}; known: {', '.join(EVENTS)}."
            )
    if errors:
        raise ValidationError(errors)
    return sorted(set(events))


@transaction.atomic
def create_endpoint(*, url, events, created_by=None, owner_email="", description=""):
    """Register an endpoint; returns it and its secret (shown to the caller once)."""
    events = _validate(url, events)
    secret = signing.new_secret()
    endpoint = WebhookEndpoint.objects.create(
        url=url,
        events=events,
        secret=secret,
        created_by=created_by,
        owner_email=owner_email,
        description=description,
        service_user=get_user_model().objects.create_user(
            username=f"webhook-{uuid.uuid4().hex[:12]}",
            first_name=(description or url)[:150],
            is_active=False,
        ),  # no password: create_user stores an unusable one
    )
    return endpoint, secret


@transaction.atomic
def update_endpoint(*, endpoint, url=None, events=None, is_active=None, description=None):
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    new_url = endpoint.url if url is None else url
    new_events = endpoint.events if events is None else events
    endpoint.url, endpoint.events = new_url, _validate(new_url, new_events)
    if description is not None:
        endpoint.description = description
    if is_active is not None and is_active != endpoint.is_active:
        endpoint.is_active = is_active
        if is_active:  # switched back on by its owner: start counting failures afresh
            endpoint.failing_since = endpoint.disabled_at = None
            endpoint.disabled_reason = ""
    endpoint.save()
    return endpoint


@transaction.atomic
def rotate_secret(*, endpoint, now: datetime | None = None) -> tuple[WebhookEndpoint, str]:
    """A new secret at once; the old one keeps signing alongside it for a day."""
    now = now or timezone.now()
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.previous_secret, endpoint.previous_secret_until = endpoint.secret, now + ROTATION_GRACE
    endpoint.secret = signing.new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    return endpoint, endpoint.secret


# An event may name the only endpoints it is for (their ids, under this key of its payload):
# a data-use change goes to that purpose's collecting system and to no other subscriber. The
# key is the producer's routing, never part of the message the receiver gets.
ROUTE_KEY = "route_to_endpoints"


def routed_to(endpoint_ids) -> dict:
    """The payload entry that limits an event to these endpoints (none: to nobody)."""
    return {ROUTE_KEY: sorted(endpoint_ids)}


# Whose decision an event carries (their account's id, under this key of its payload): each
# endpoint it is sent to is written into that person's access log. Like the route, the key is
# the producer's note to this app, never part of the message.
ABOUT_KEY = "about_user_id"
PRIVATE_KEYS = (ROUTE_KEY, ABOUT_KEY)


def about(user_id: int | None) -> dict:
    """The payload entry naming the person whose decision the event carries."""
    return {ABOUT_KEY: user_id} if user_id is not None else {}


def deliveries_for(topic: str, key: str, data: dict, created_at) -> list[int]:
    """One pending delivery per active endpoint subscribed to `topic` (and, when the event
    names its endpoints, among those only); returns the new ones' ids."""
    return deliveries_for_events([(topic, key, data, created_at)])


def deliveries_for_events(events) -> list[int]:
    """`deliveries_for` for a batch of (topic, key, data, created_at), in a number of queries
    that does not grow with the batch: the active endpoints once, the deliveries in bulk
    inserts of 1,000, and one read of the new ids (those not attempted yet: a dispatcher that
    crashed after inserting them left them for this one to queue)."""
    endpoints = list(
        WebhookEndpoint.objects.filter(is_active=True).only("pk", "events", "url", "service_user")
    )
    if not endpoints:
        return []
    events = list(events)
    # The dispatcher ran some of these events before: their rows exist, nothing new is added
    # (and nobody's access log is written twice).
    done = set(
        WebhookDelivery.objects.filter(
            # Both columns of the one-delivery-per-event index, as in the read at the end.
            endpoint__in=[e.pk for e in endpoints],
            event_key__in=[key for _topic, key, _data, _at in events],
        ).values_list("endpoint_id", "event_key")
    )
    rows, keys, told = [], set(), defaultdict(list)
    for topic, key, data, created_at in events:
        route = data.get(ROUTE_KEY)
        allowed = None if route is None else set(route)
        targets = [
            e
            for e in endpoints
            if topic in e.events
            and (allowed is None or e.pk in allowed)
            and (e.pk, key) not in done
        ]
        keys.add(key)
        if not targets:
            continue
        person = data.get(ABOUT_KEY)
        data = {name: value for name, value in data.items() if name not in PRIVATE_KEYS}
        body = {"type": topic, "timestamp": created_at.isoformat(), "data": data}
        for e in targets:
            rows.append(
                WebhookDelivery(
                    endpoint=e,
                    event_key=key,
                    message_id=f"msg_{uuid.uuid4().hex}",
                    topic=topic,
                    payload=body,
                )
            )
            if person is not None and e.service_user_id is not None:
                told[(e, topic)].append((e.service_user_id, person))
    if rows:
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    for (endpoint, topic), pairs in told.items():  # one statement per endpoint and topic
        record_pairs(
            pairs,
            page=endpoint.url,
            purpose=f"{topic} sent by webhook",
            channel=AccessLogEntry.Channel.WEBHOOK,
        )
    return list(
        WebhookDelivery.objects.filter(
            event_key__in=keys,
            endpoint__in=[e.pk for e in endpoints],
            attempts=0,
            state=WebhookDelivery.State.PENDING,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def send_test(*, endpoint) -> WebhookDelivery:
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_key=f"{TEST_TOPIC}:{uuid.uuid4().hex}",
        message_id=f"msg_{uuid.uuid4().hex}",
        topic=TEST_TOPIC,
        payload={
            "type": TEST_TOPIC,
            "timestamp": now.isoformat(),
            "data": {"endpoint": endpoint.pk},
        },
    )
    return delivery


def _secrets(endpoint, now) -> list[str]:
    live = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_until
        and now < endpoint.previous_secret_until
    ):
        live.append(endpoint.previous_secret)
    return live


def deliver(delivery_id: int, *, now: datetime | None = None) -> str:
    """One attempt at one delivery, if it is due. Returns what happened."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return "busy" if WebhookDelivery.objects.filter(pk=delivery_id).exists() else "gone"
        now = now or timezone.now()
        if delivery.state != WebhookDelivery.State.PENDING:
            return "already"
        if delivery.next_attempt_at > now:
            return "not-due"
        endpoint = delivery.endpoint
        if not endpoint.is_active:
            return "endpoint-disabled"
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True)
        headers = signing.headers(
            _secrets(endpoint, now), delivery.message_id, int(now.timestamp()), body
        )
        started = time.monotonic()
        status, error = None, ""
        try:
            response = requests.post(
                endpoint.url,
                data=body.encode(),
                headers=headers,
                timeout=TIMEOUT_SECONDS,
                allow_redirects=False,
            )
            status = response.status_code
        except requests.RequestException as exc:
            error = f"{exc.__class__.__name__}: {exc}"[:2000]
        WebhookAttempt.objects.create(
            delivery=delivery,
            at=now,
            status_code=status,
            error=error,
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        delivery.attempts += 1
        delivery.last_status, delivery.last_error = status, error
        if status is not None and 200 <= status < 300:
            delivery.state, delivery.delivered_at = WebhookDelivery.State.DELIVERED, now
            delivery.save()
            if endpoint.failing_since is not None:
                WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
            return "delivered"
        if delivery.attempts > len(BACKOFF):
            delivery.state = WebhookDelivery.State.FAILED
            logger.error(
                "webhook %s to %s: gave up after %s attempts",
                delivery.message_id,
                endpoint.url,
                delivery.attempts,
            )
        else:
            delivery.next_attempt_at = now + timedelta(seconds=BACKOFF[delivery.attempts - 1])
        delivery.save()
        _note_failure(endpoint, now)
        return "failed" if delivery.state == WebhookDelivery.State.FAILED else "retry"


def _note_failure(endpoint, now) -> None:
    """An endpoint that has failed without a single success for days is switched off, and its
    owner told: a dead receiver should not collect days of retries."""
    if endpoint.failing_since is None:
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since=None).update(failing_since=now)
        return
    limit = timedelta(hours=settings.PORTAL_WEBHOOK_DISABLE_AFTER_HOURS)
    if now - endpoint.failing_since < limit:
        return
    reason = f"every delivery failed since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC"
    if (
        WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
            is_active=False, disabled_at=now, disabled_reason=reason
        )
        and endpoint.owner_email
    ):
        transaction.on_commit(
            lambda: send_mail(
                "Webhook endpoint disabled",
                f"The Consent Portal stopped sending webhooks to {endpoint.url}: {reason}.\n"
                "Fix the receiver, then switch the endpoint back on "
                f'(PATCH /api/v1/webhook-endpoints/{endpoint.pk}/ with {{"is_active": true}}).',
                settings.DEFAULT_FROM_EMAIL,
                [endpoint.owner_email],
                fail_silently=True,
            )
        )


def due_deliveries(*, now: datetime | None = None, limit: int = 5000) -> list[int]:
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(
            state=WebhookDelivery.State.PENDING, next_attempt_at__lte=now, endpoint__is_active=True
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
