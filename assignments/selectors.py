"""Reads, already limited to what the caller may see and already joined."""

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from assignments.models import Proposal
from people.models import Employee
from people.roles import is_hr

_JOINS = ("employee", "from_team", "to_team", "proposed_by", "campaign")


def inbox_for(employee: Employee) -> QuerySet[Proposal]:
    """Every proposal about this person: pending first (soonest deadline first), then the rest."""
    return (
        Proposal.objects.filter(employee=employee)
        .select_related(*_JOINS)
        .annotate(
            pending_first=Case(
                When(state=Proposal.State.PENDING, then=Value(0)),
                When(state=Proposal.State.OPTED_IN, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("pending_first", "response_deadline", "-created_at")
    )


def proposals_visible_to(user) -> QuerySet[Proposal]:
    """The employee's own, a manager's direct reports' and their own proposals; HR sees all."""
    qs = Proposal.objects.select_related(*_JOINS)
    if not user.is_authenticated:
        return qs.none()
    if is_hr(user):
        return qs
    return (
        qs.filter(employee__user=user)
        | qs.filter(employee__manager__user=user)
        | qs.filter(proposed_by=user)
    )


def proposals_managed_by(user) -> QuerySet[Proposal]:
    """Proposals a manager made or that concern their direct reports (HR: all), never their own.

    Rows carry status only: nothing here reads the consent ledger, so private reasons cannot
    leak into a manager's page.
    """
    qs = Proposal.objects.select_related(*_JOINS, "employee__manager").order_by(
        "-created_at", "-id"
    )
    if not user.is_authenticated:
        return qs.none()
    if is_hr(user):
        return qs
    return qs.filter(Q(proposed_by=user) | Q(employee__manager__user=user)).exclude(
        employee__user=user
    )


def employees_without_consent_on_record() -> QuerySet[Employee]:
    """People moved before the portal who never confirmed: listed, never counted as consenting."""
    return (
        Employee.objects.filter(
            proposals__kind=Proposal.Kind.RETROACTIVE, proposals__state=Proposal.State.EXPIRED
        )
        .exclude(
            proposals__kind=Proposal.Kind.RETROACTIVE, proposals__state=Proposal.State.EFFECTIVE
        )
        .distinct()
    )
