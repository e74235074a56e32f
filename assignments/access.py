"""One rule for showing people's decisions to someone else (invariant 6, visible access).

A proposal's state, a move and a placement request each tell what a person decided. Every page
and endpoint that shows them to anyone but that person calls `log_shown` with what it shows:
one access-log entry per person shown, in one INSERT, which the person reads in their privacy
centre. The API's viewsets do it for whatever they serialize on a read (`LogsPeopleShown`), so a
new endpoint cannot forget.
"""

from collections.abc import Iterable

from api.permissions import is_api_client
from consent.access import record_reads
from consent.models import AccessLogEntry
from people.models import Employee


def subjects_of(objects: Iterable) -> set[int]:
    """The accounts of the people these proposals, moves or placement requests are about: from
    the loaded employee where the query joined it, otherwise in one query."""
    users, employee_ids = set(), set()
    for obj in objects:
        if type(obj).employee.is_cached(obj):
            users.add(obj.employee.user_id)
        else:
            employee_ids.add(obj.employee_id)
    if employee_ids:
        users |= set(Employee.objects.filter(pk__in=employee_ids).values_list("user_id", flat=True))
    return users


def log_shown(request, objects: Iterable, *, purpose: str) -> None:
    """Log that the request's caller was shown the people behind `objects`. An API key reads as
    its service account, on the API channel, named in the purpose; nobody's own reads count."""
    objects = list(objects)
    if not objects:
        return
    user = request.user
    if is_api_client(user):
        viewer, channel = user.user_id, AccessLogEntry.Channel.API
        purpose = f"{purpose} (API key {user.name})"
    else:
        viewer, channel = user, AccessLogEntry.Channel.WEB
    record_reads(
        viewer=viewer,
        subjects=subjects_of(objects),
        page=request.get_full_path(),
        purpose=purpose,
        channel=channel,
    )


class LogsPeopleShown:
    """For DRF viewsets: every object serialized in answer to a read is logged as shown."""

    shown_purpose = "read over the API"

    def get_serializer(self, *args, **kwargs):
        if args and self.request.method in ("GET", "HEAD"):
            shown = args[0] if kwargs.get("many") else [args[0]]
            log_shown(self.request, shown, purpose=self.shown_purpose)
        return super().get_serializer(*args, **kwargs)
