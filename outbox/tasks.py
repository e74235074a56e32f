"""The outbox dispatcher, run by beat every minute (portal/celery.py)."""

from celery import shared_task

from outbox.services import dispatch_pending


@shared_task(acks_late=True)
def dispatch_outbox() -> int:
    return dispatch_pending()
