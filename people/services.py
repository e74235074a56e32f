"""Changes to people records that are not about any workflow."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from people.models import Employee


@transaction.atomic
def start_leave(*, employee: Employee, actor, now: datetime | None = None) -> Employee | None:
    """Mark someone on leave from now. Returns the locked row, or None if already on leave."""
    employee = Employee.objects.select_for_update().get(pk=employee.pk)
    if employee.on_leave_since is not None:
        return None
    employee.on_leave_since = now or timezone.now()
    employee.save(update_fields=["on_leave_since"])
    return employee


@transaction.atomic
def end_leave(*, employee: Employee, actor, now: datetime | None = None) -> datetime | None:
    """Mark someone back. Returns when the leave began, or None if they were not on leave."""
    employee = Employee.objects.select_for_update().get(pk=employee.pk)
    since = employee.on_leave_since
    if since is None:
        return None
    employee.on_leave_since = None
    employee.save(update_fields=["on_leave_since"])
    return since
