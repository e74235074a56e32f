"""Data-use background work: the reminder before an opt-in lapses (the lapse itself needs no
job: the consent check computes it from the opt-in's date)."""

from celery import shared_task

from datause import services


@shared_task(acks_late=True)
def remind_before_lapse() -> int:
    """Safe to run twice, or in two beats at once: each reminder has its dedupe key."""
    return services.remind_before_lapse()


@shared_task(acks_late=True)
def announce_lapses() -> int:
    """consent.changed for opt-ins that lapsed; safe to run twice (one outbox key each)."""
    return services.announce_lapses()
