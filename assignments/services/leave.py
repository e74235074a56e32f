"""Leave: a person's response windows pause while they are away.

While someone is on leave the clock neither expires nor reminds (`NOT_ON_LEAVE` is the filter
both use); the person may still decide. On return, each pending deadline moves by the working
days they were away, recorded as an "extended" event with reason "leave", and they are told.
People records hold only the fact (`people.services`); what it means for a window is here.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from assignments.deadlines import add_working_days, working_days_between
from assignments.models import Proposal
from assignments.services._shared import lock
from assignments.services.managing import move_deadline
from people import services as people_services
from people.models import Employee

# Proposals whose silence may be read (expired) or reminded: their person is not on leave.
NOT_ON_LEAVE = Q(employee__on_leave_since=None)


@transaction.atomic
def start_leave(*, employee: Employee, actor, now: datetime | None = None) -> Employee:
    """Mark someone on leave (HR, or the HRIS later). Their open windows pause from now."""
    people_services.start_leave(employee=employee, actor=actor, now=now)
    return Employee.objects.get(pk=employee.pk)


@transaction.atomic
def end_leave(*, employee: Employee, actor, now: datetime | None = None) -> list[Proposal]:
    """Mark someone back; extend each pending deadline by the working days they were away.

    The person gets back exactly the window they had left when the leave began, and a
    deadline that fell during the leave has not been read as silence. Returns the proposals
    extended.
    """
    now = now or timezone.now()
    since = people_services.end_leave(employee=employee, actor=actor, now=now)
    if since is None:
        return []
    away = working_days_between(timezone.localdate(since), timezone.localdate(now))
    if away == 0:
        return []
    pending = Proposal.objects.filter(employee=employee, state=Proposal.State.PENDING)
    proposals = [lock(p) for p in pending.order_by("pk")]
    for proposal in proposals:
        move_deadline(
            proposal,
            new_deadline=add_working_days(proposal.response_deadline, away),
            actor=actor,
            now=now,
            reason="leave",
            working_days=away,
            leave_started=since.isoformat(),
        )
    return proposals
