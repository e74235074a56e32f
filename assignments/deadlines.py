"""The response window: how short it may be, how it may change, and working-day arithmetic.

Monday to Friday are working days. A window has a minimum length
(PORTAL_MIN_RESPONSE_WORKING_DAYS, default 5); it may be extended (by at least a day at a
time, so each notice of a new deadline tells of a real change), never shortened; and a
deadline never falls after the start date of the move it is about. Deadlines and start dates
lie within a horizon (PORTAL_MAX_HORIZON_DAYS, default 730): a proposal for the year 9999 is
a typing mistake, and a window that long would keep the person's answer open forever.
"""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _


def add_working_days(start: datetime, days: int) -> datetime:
    """The moment `days` working days after `start`, at the same time of day."""
    moment = start
    remaining = days
    while remaining > 0:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            remaining -= 1
    return moment


def working_days_between(start: date, end: date) -> int:
    """Working days from `start` up to, not including, `end`."""
    days = 0
    day = start
    while day < end:
        if day.weekday() < 5:
            days += 1
        day += timedelta(days=1)
    return days


# A deadline moves by at least this much: extending by a minute would be a notice about nothing.
MIN_EXTENSION = timedelta(days=1)


def latest_date(now: datetime | None = None) -> date:
    """The last day a deadline or start date may fall on, for a change made at `now`."""
    return timezone.localdate(now or timezone.now()) + timedelta(
        days=settings.PORTAL_MAX_HORIZON_DAYS
    )


def _beyond_horizon(day: date, now: datetime | None, what: str) -> str | None:
    latest = latest_date(now)
    if day <= latest:
        return None
    return _(
        "%(what)s is too far ahead: choose a day up to %(days)s days from today "
        "(%(latest)s at the latest)."
    ) % {
        "what": what,
        "days": settings.PORTAL_MAX_HORIZON_DAYS,
        "latest": formats.date_format(latest),
    }


def horizon_errors(
    *, response_deadline: datetime | None = None, start_date: date | None = None, now=None
) -> dict:
    """Field errors for a deadline or start date beyond the horizon (empty when fine)."""
    errors = {}
    if response_deadline is not None:
        beyond = _beyond_horizon(
            timezone.localdate(response_deadline), now, _("The response deadline")
        )
        if beyond:
            errors["response_deadline"] = beyond
    if start_date is not None:
        beyond = _beyond_horizon(start_date, now, _("The start date"))
        if beyond:
            errors["start_date"] = beyond
    return errors


def minimum_deadline(now: datetime | None = None) -> datetime:
    """The earliest response deadline allowed for a proposal made at `now`."""
    return add_working_days(now or timezone.now(), settings.PORTAL_MIN_RESPONSE_WORKING_DAYS)


def _when(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def new_window_errors(
    *, response_deadline: datetime, start_date: date, now: datetime, retroactive: bool
) -> dict:
    """Field errors for a new proposal's window (empty when it is fine)."""
    too_far = horizon_errors(response_deadline=response_deadline, start_date=start_date, now=now)
    if too_far:
        return too_far
    earliest = minimum_deadline(now)
    if response_deadline < earliest:
        return {
            "response_deadline": _(
                "The response deadline must leave at least %(days)s working days to decide: "
                "choose %(earliest)s or later."
            )
            % {"days": settings.PORTAL_MIN_RESPONSE_WORKING_DAYS, "earliest": _when(earliest)}
        }
    if not retroactive and start_date < timezone.localdate(response_deadline):
        return {
            "start_date": _(
                "The start date must be on or after the response deadline (%(deadline)s)."
            )
            % {"deadline": formats.date_format(timezone.localdate(response_deadline))}
        }
    return {}


def extension_errors(
    *,
    current: datetime,
    new: datetime,
    start_date: date,
    retroactive: bool,
    now: datetime | None = None,
) -> dict:
    """Field errors for moving an open window's deadline to `new` (empty when allowed)."""
    if new <= current:
        return {
            "response_deadline": _(
                "A deadline can only be extended: choose a moment after %(deadline)s."
            )
            % {"deadline": _when(current)}
        }
    if new - current < MIN_EXTENSION:
        return {
            "response_deadline": _(
                "Extend a deadline by at least a day: choose %(earliest)s or later."
            )
            % {"earliest": _when(current + MIN_EXTENSION)}
        }
    too_far = horizon_errors(response_deadline=new, now=now)
    if too_far:
        return too_far
    if not retroactive and timezone.localdate(new) > start_date:
        return {
            "response_deadline": _(
                "The new deadline would fall after the start date (%(start)s); withdraw this "
                "proposal and propose a later start instead."
            )
            % {"start": formats.date_format(start_date)}
        }
    return {}
