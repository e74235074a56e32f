"""The API's periodic upkeep (beat schedule in portal/celery.py)."""

from celery import shared_task

from api.idempotency import prune_idempotency_records


@shared_task(acks_late=True)
def prune_idempotency() -> int:
    return prune_idempotency_records()
