"""Reads about people, already joined."""

import zoneinfo

from django.db.models import QuerySet

from people.models import Employee, TeamChange
from people.roles import is_hr

UTC = zoneinfo.ZoneInfo("UTC")


def employee_for(user) -> Employee | None:
    if not user.is_authenticated:
        return None
    return Employee.objects.select_related("team", "manager").filter(user=user).first()


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
