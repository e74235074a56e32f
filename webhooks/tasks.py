"""Webhook delivery: one task per delivery, and a minute sweep for retries that are due."""

from celery import shared_task

from portal.celery import enqueue_after_commit
from webhooks import services


def fan_out(event) -> None:
    """settings.OUTBOX_HANDLERS: one delivery per subscribed endpoint, written in the
    dispatcher's transaction; their sends are queued on commit (and picked up by the minute
    sweep if that queueing is lost)."""
    fan_out_many([event])


def fan_out_many(events) -> None:
    """`fan_out` for a batch of outbox events at once: the dispatcher calls this (see
    `outbox.services.dispatch_pending`), in queries that do not grow with the batch."""
    queue(
        services.deliveries_for_events([(e.topic, e.key, e.payload, e.created_at) for e in events])
    )


fan_out.many = fan_out_many  # the dispatcher's batch entry point


# Deliveries per queued task. One task per delivery would spend more on the broker round trip
# and the task's own overhead than on the HTTP call; a task per chunk still spreads the work
# over every worker process. Each delivery is claimed on its own (services.deliver), so a
# chunk that runs twice (a worker lost mid-way) sends nothing twice that already succeeded.
CHUNK = 20


def queue(delivery_ids) -> None:
    ids = list(delivery_ids)
    for start in range(0, len(ids), CHUNK):
        enqueue_after_commit(deliver_webhooks, ids[start : start + CHUNK])


@shared_task(acks_late=True)
def deliver_webhooks(delivery_ids: list[int]) -> list[str]:
    return [services.deliver(pk) for pk in delivery_ids]


@shared_task(acks_late=True)
def deliver_webhook(delivery_id: int) -> str:
    """One delivery (messages queued before chunks existed still name this task)."""
    return services.deliver(delivery_id)


@shared_task(acks_late=True)
def deliver_due_webhooks() -> int:
    """Retries whose time has come, and any delivery whose queued task was lost."""
    due = services.due_deliveries()
    for start in range(0, len(due), CHUNK):
        deliver_webhooks.delay(due[start : start + CHUNK])
    return len(due)
