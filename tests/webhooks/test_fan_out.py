"""Fan-out from the outbox to webhook deliveries: one batch of events costs the same number of
queries whatever its size, and batching changes nothing a receiver or the ledger of
deliveries would notice (one delivery per endpoint and event, routing kept, failures isolated)."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from outbox.models import OutboxEvent
from outbox.services import dispatch_pending, record_events
from webhooks import services, tasks
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/hooks"  # never called here: these tests stop before delivery


def events(count, start=0, topic="proposal.created", **payload):
    with transaction.atomic():
        record_events(
            [
                (topic, f"{topic}:{n}", {"proposal_id": n, **payload})
                for n in range(start, start + count)
            ]
        )


def dispatch_counting_queries(django_capture_on_commit_callbacks) -> tuple[int, int, int]:
    with (
        django_capture_on_commit_callbacks(execute=False) as sends,
        CaptureQueriesContext(connection) as captured,
    ):
        dispatched = dispatch_pending()
    return dispatched, len(captured), len(sends)


def test_a_batch_of_events_costs_the_same_queries_for_one_event_or_fifty(
    settings, django_capture_on_commit_callbacks
):
    settings.OUTBOX_HANDLERS = {"proposal.created": ["webhooks.tasks.fan_out"]}
    services.create_endpoint(url=URL, events=["proposal.created"])
    services.create_endpoint(url=URL + "/2", events=["proposal.created", "move.effective"])
    events(1)
    one = dispatch_counting_queries(django_capture_on_commit_callbacks)
    events(50, start=1)
    fifty = dispatch_counting_queries(django_capture_on_commit_callbacks)
    # Per batch: SAVEPOINT/RELEASE around it, claim the events (FOR UPDATE SKIP LOCKED), read
    # the active endpoints, insert the deliveries, read the new ids, stamp the events; and
    # the empty claim that ends the run.
    assert one[0] == 1 and fifty[0] == 50
    assert one[1] == fifty[1], (one, fifty)
    assert WebhookDelivery.objects.count() == 2 * 51
    # The sends are queued in chunks: 100 deliveries, 5 tasks of 20.
    assert (one[2], fifty[2]) == (1, 100 // tasks.CHUNK)


def test_a_chunk_that_runs_twice_sends_each_message_once():
    from tests.webhooks.test_webhooks import Receiver

    receiver = Receiver()
    try:
        services.create_endpoint(url=receiver.url, events=["proposal.created"])
        events(3)
        dispatch_pending()
        ids = list(WebhookDelivery.objects.order_by("pk").values_list("pk", flat=True))
        assert tasks.deliver_webhooks(ids) == ["delivered"] * 3
        assert tasks.deliver_webhooks(ids) == ["already"] * 3  # redelivered after a lost ack
        assert len(receiver.received) == 3
    finally:
        receiver.close()


def test_every_event_gets_one_delivery_per_subscribed_endpoint_and_routing_is_kept(settings):
    settings.OUTBOX_HANDLERS = {
        "proposal.created": ["webhooks.tasks.fan_out"],
        "consent.changed": ["webhooks.tasks.fan_out"],
    }
    created, _ = services.create_endpoint(url=URL, events=["proposal.created"])
    collector, _ = services.create_endpoint(url=URL + "/c", events=["consent.changed"])
    other, _ = services.create_endpoint(url=URL + "/o", events=["consent.changed"])
    events(3)
    events(2, topic="consent.changed", **services.routed_to([collector.pk]))
    assert dispatch_pending() == 5
    by_endpoint = {
        endpoint: sorted(
            WebhookDelivery.objects.filter(endpoint=endpoint).values_list("event_key", flat=True)
        )
        for endpoint in (created, collector, other)
    }
    assert by_endpoint[created] == [f"proposal.created:{n}" for n in range(3)]
    assert by_endpoint[collector] == [f"consent.changed:{n}" for n in range(2)]
    assert by_endpoint[other] == []  # routed to the collector only
    payload = WebhookDelivery.objects.filter(endpoint=collector).first().payload
    assert services.ROUTE_KEY not in payload["data"]  # routing is never in the message


def test_one_broken_event_in_a_batch_holds_back_none_of_the_others(settings):
    settings.OUTBOX_HANDLERS = {
        "proposal.created": ["webhooks.tasks.fan_out", "tests.webhooks.test_fan_out.picky"]
    }
    services.create_endpoint(url=URL, events=["proposal.created"])
    events(5)
    assert dispatch_pending() == 4
    stuck = OutboxEvent.objects.get(dispatched_at=None)
    assert stuck.key == "proposal.created:3" and "event 3" in stuck.last_error
    # The others' deliveries are written once each; the broken one's rolled back with it.
    assert sorted(WebhookDelivery.objects.values_list("event_key", flat=True)) == [
        f"proposal.created:{n}" for n in (0, 1, 2, 4)
    ]
    assert dispatch_pending() == 0 and WebhookDelivery.objects.count() == 4


def picky(event):
    if event.payload["proposal_id"] == 3:
        raise ValueError("event 3 cannot be handled")
