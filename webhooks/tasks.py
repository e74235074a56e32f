"""Webhook delivery: one task per delivery, and a minute sweep for retries that are due."""

from celery import shared_task

from portal.celery import enqueue_after_commit
from webhooks import services


def fan_out(event) -> None:
    """settings.OUTBOX_HANDLERS: one delivery per subscribed endpoint, written in the
    dispatcher's transaction; their sends are queued on commit (and picked up by the minute
    sweep if that queueing is lost)."""
    queue(services.deliveries_for(event.topic, event.key, event.payload, event.created_at))


def queue(delivery_ids) -> None:
    for pk in delivery_ids:
        enqueue_after_commit(deliver_webhook, pk)


@shared_task(acks_late=True)
def deliver_webhook(delivery_id: int) -> str:
    return services.deliver(delivery_id)


@shared_task(acks_late=True)
def deliver_due_webhooks() -> int:
    """Retries whose time has come, and any delivery whose queued task was lost."""
    due = services.due_deliveries()
    for pk in due:
        deliver_webhook.delay(pk)
    return len(due)
