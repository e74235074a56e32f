"""Working-day arithmetic for response windows (Monday to Friday are working days)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone


def add_working_days(start: datetime, days: int) -> datetime:
    """The moment `days` working days after `start`, at the same time of day."""
    moment = start
    remaining = days
    while remaining > 0:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            remaining -= 1
    return moment


def minimum_deadline(now: datetime | None = None) -> datetime:
    """The earliest response deadline allowed for a proposal made at `now`."""
    return add_working_days(now or timezone.now(), settings.PORTAL_MIN_RESPONSE_WORKING_DAYS)
