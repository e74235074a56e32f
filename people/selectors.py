"""Reads about people, already joined."""

import zoneinfo

from django.db.models import QuerySet

from people.models import Employee, TeamChange
from people.roles import is_hr

UTC = zoneinfo.ZoneInfo("UTC")


def employee_for(user) -> Employee | None:
    if not user.is_authenticated:
        return None
    cached = getattr(user, "_signed_in_employee", _UNLOADED)
    if cached is not _UNLOADED:  # loaded once for this request by signed_in_employee
        return cached
    return Employee.objects.select_related("team", "manager").filter(user=user).first()


_UNLOADED = object()


def signed_in_employee(user) -> Employee | None:
    """The signed-in person's Employee (team and manager joined), with their roles, in one
    query for the whole request (people.middleware calls it first).

    Every page needs the person's time zone and language, the header needs whether they are
    HR or a manager, and most views need the Employee itself: four lookups that become one.
    The answers are kept on this request's user object (`employee_for`, `people.roles`), so
    they never outlive the request. Someone without an Employee row (an admin) falls back to
    the separate lookups.
    """
    from django.contrib.auth.models import Group
    from django.db.models import Exists, OuterRef

    from people.roles import HR_GROUP

    employee = (
        Employee.objects.select_related("team", "manager")
        .filter(user=user)
        .annotate(
            in_hr_group=Exists(Group.objects.filter(name=HR_GROUP, user=OuterRef("user_id"))),
            has_reports=Exists(Employee.objects.filter(manager=OuterRef("pk"), is_active=True)),
        )
        .first()
    )
    user._signed_in_employee = employee
    if employee is not None:
        user._is_hr = employee.in_hr_group
        user._is_manager = employee.has_reports
    return employee


def direct_reports(user) -> QuerySet[Employee]:
    """Active people whose manager is `user`; HR may act for every active person."""
    qs = Employee.objects.filter(is_active=True).select_related("team")
    if is_hr(user):
        return qs
    return qs.filter(manager__user=user)


def parse_zone(name: str | None) -> zoneinfo.ZoneInfo:
    """A person's zone; a bad value from the HRIS must not lock anyone out: UTC instead."""
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def zone_and_language_for(user_id: int) -> tuple[zoneinfo.ZoneInfo, str]:
    """The time zone and language a person reads in (for emails rendered without a request)."""
    row = Employee.objects.filter(user_id=user_id).values_list("time_zone", "language").first()
    if row is None:
        return UTC, ""
    return parse_zone(row[0]), row[1]


def display_name(user) -> str:
    """The name people know someone by: their Employee name, else the account's."""
    employee = getattr(user, "employee", None) if user is not None else None
    if employee is not None:
        return employee.name
    return user.get_full_name() or user.email or user.get_username()


def team_changes_for(employee: Employee) -> QuerySet[TeamChange]:
    """The administrative changes of someone's team, newest first, for their timeline (who
    made each, when, from which client)."""
    return (
        TeamChange.objects.filter(employee=employee)
        .select_related("from_team", "to_team", "actor")
        .order_by("-at", "-id")
    )
