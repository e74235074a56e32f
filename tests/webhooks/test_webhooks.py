"""Outgoing webhooks: registered over the API, built from the outbox, signed per Standard
Webhooks and verified here with the reference `standardwebhooks` package in a real receiver."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from outbox.models import OutboxEvent
from outbox.services import dispatch_pending, record_event
from tests.api.conftest import key_client
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


class Receiver:
    """A real HTTP server on loopback that answers with the codes it is told to, in order."""

    def __init__(self, codes=(200,)):
        self.codes = list(codes)
        self.received = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body.decode()))
                code = receiver.codes.pop(0) if len(receiver.codes) > 1 else receiver.codes[0]
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def event(topic="proposal.created", key="proposal.created:1", **payload):
    with transaction.atomic():
        record_event(topic=topic, key=key, payload=payload or {"proposal_id": 1})


def deliver_all(now=None):
    return [services.deliver(pk, now=now) for pk in services.due_deliveries(now=now)]


def test_an_endpoint_registered_over_the_api_receives_signed_events(receiver):
    client, _, _ = key_client("webhooks:manage")
    created = client.post(
        "/api/v1/webhook-endpoints/",
        {"url": receiver.url, "events": ["proposal.created"]},
        format="json",
    )
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    listed = client.get("/api/v1/webhook-endpoints/").json()["results"]
    assert [e["id"] for e in listed] == [created.json()["id"]] and "secret" not in listed[0]
    event(employee_id=7)
    assert dispatch_pending() == 1
    assert deliver_all() == ["delivered"]
    [(headers, body)] = receiver.received
    verified = Webhook(secret).verify(body, headers)  # raises if the signature is wrong
    assert verified["type"] == "proposal.created" and verified["data"] == {"employee_id": 7}
    assert headers["webhook-id"].startswith("msg_")


def test_an_unknown_event_or_a_bad_url_is_refused_with_a_clear_error():
    client, _, _ = key_client("webhooks:manage")
    bad = client.post(
        "/api/v1/webhook-endpoints/",
        {"url": "ftp://x", "events": ["proposal.eaten"]},
        format="json",
    )
    assert bad.status_code == 400
    assert "events" in bad.json()["errors"] and not WebhookEndpoint.objects.exists()
    assert key_client("proposals:read")[0].get("/api/v1/webhook-endpoints/").status_code == 403


def test_a_receiver_that_fails_then_recovers_gets_the_message_once_with_the_same_id():
    receiver = Receiver(codes=[500, 503, 200])
    try:
        endpoint, secret = services.create_endpoint(url=receiver.url, events=["move.effective"])
        event(topic="move.effective", key="move.effective:1", move_id=1)
        dispatch_pending()
        now = timezone.now()
        assert deliver_all(now) == ["retry"]
        assert deliver_all(now) == []  # backing off: not due yet
        assert deliver_all(now + timedelta(seconds=6)) == ["retry"]
        assert deliver_all(now + timedelta(seconds=40)) == ["delivered"]
        assert deliver_all(now + timedelta(days=1)) == []  # delivered once, never again
        ids = {headers["webhook-id"] for headers, _ in receiver.received}
        assert len(receiver.received) == 3 and len(ids) == 1
        delivery = WebhookDelivery.objects.get()
        assert delivery.attempts == 3 and [a.status_code for a in delivery.log.all()] == [
            500,
            503,
            200,
        ]
        endpoint.refresh_from_db()
        assert endpoint.failing_since is None
    finally:
        receiver.close()


def test_retries_go_on_for_more_than_a_day_and_a_dead_endpoint_is_disabled(
    settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.PORTAL_WEBHOOK_DISABLE_AFTER_HOURS = 72
    dead = Receiver(codes=[500])
    try:
        endpoint, _ = services.create_endpoint(
            url=dead.url, events=["proposal.expired"], owner_email="hris@example.test"
        )
        event(topic="proposal.expired", key="proposal.expired:1")
        dispatch_pending()
        moment, outcomes = timezone.now(), []
        for _ in range(20):
            with django_capture_on_commit_callbacks(execute=True):  # the owner's email
                outcomes += deliver_all(moment)
            moment += timedelta(hours=25)
            endpoint.refresh_from_db()
            if not endpoint.is_active:
                break
        assert sum(services.BACKOFF) > 24 * 3600
        assert "retry" in outcomes
        assert not endpoint.is_active and "failed since" in endpoint.disabled_reason
        assert mailoutbox and mailoutbox[0].to == ["hris@example.test"]
    finally:
        dead.close()


def test_rotation_signs_with_both_secrets_for_a_day(receiver):
    endpoint, old = services.create_endpoint(url=receiver.url, events=["proposal.decided"])
    _, new = services.rotate_secret(endpoint=endpoint)
    event(topic="proposal.decided", key="proposal.decided:1")
    dispatch_pending()
    deliver_all()
    [(headers, body)] = receiver.received
    assert Webhook(old).verify(body, headers) and Webhook(new).verify(body, headers)


def test_a_dispatcher_that_runs_twice_delivers_nothing_twice(receiver):
    services.create_endpoint(url=receiver.url, events=["proposal.created"])
    event()
    dispatch_pending()
    OutboxEvent.objects.update(dispatched_at=None)  # as if the first dispatcher crashed late
    dispatch_pending()
    assert WebhookDelivery.objects.count() == 1
    deliver_all()
    assert len(receiver.received) == 1


def test_the_test_event_reaches_the_receiver(receiver):
    client, _, _ = key_client("webhooks:manage")
    created = client.post(
        "/api/v1/webhook-endpoints/",
        {"url": receiver.url, "events": ["move.effective"]},
        format="json",
    ).json()
    sent = client.post(f"/api/v1/webhook-endpoints/{created['id']}/test/")
    assert sent.status_code == 202
    deliver_all()
    [(headers, body)] = receiver.received
    assert json.loads(body)["type"] == "webhook.test"
    assert Webhook(created["secret"]).verify(body, headers)
