"""Who counts as what. The one place that says who is HR and who is a manager."""

from django.contrib.auth import get_user_model

HR_GROUP = "HR"


def is_hr(user) -> bool:
    """HR partners (the "HR" group) and superusers. Cached on the user for the request."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_is_hr", None)
    if cached is None:
        cached = user._is_hr = user.groups.filter(name=HR_GROUP).exists()
    return cached


def is_manager(user) -> bool:
    """Someone with at least one active direct report, or HR (who may act for anyone)."""
    if not user.is_authenticated:
        return False
    if is_hr(user):
        return True
    cached = getattr(user, "_is_manager", None)
    if cached is None:
        from people.models import Employee

        cached = user._is_manager = Employee.objects.filter(
            manager__user=user, is_active=True
        ).exists()
    return cached


def manages(user, employee) -> bool:
    """Whether `user` is this person's direct manager."""
    manager = employee.manager
    return manager is not None and manager.user_id == user.pk


def hr_users():
    """Active HR partners: who hears about placement requests and gets the digest."""
    return get_user_model().objects.filter(groups__name=HR_GROUP, is_active=True).distinct()
