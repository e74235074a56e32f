"""Who may see which dashboards: HR sees everyone's figures, a manager their direct reports'.

The same pages answer at /hr/dashboards/ and /team/dashboards/ (two instances of
reports.urls); the instance decides the scope. Anyone else gets a 403. Drilling down to named
people is HR's alone, and every such page writes the access log.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from people.roles import is_hr, is_manager
from people.selectors import employee_for

HR_NAMESPACE, TEAM_NAMESPACE = "hr_dashboards", "team_dashboards"


@dataclass(frozen=True)
class Scope:
    """Whose figures a page shows: everyone's (`manager_id` None) or one manager's reports."""

    namespace: str
    manager_id: int | None = None  # the manager's Employee id

    @property
    def is_hr(self) -> bool:
        return self.namespace == HR_NAMESPACE

    @property
    def may_name_people(self) -> bool:
        return self.is_hr


def scope_for(request) -> Scope:
    """The scope of the dashboards instance this request came in through, or a 403."""
    namespace = request.resolver_match.namespace
    user = request.user
    if namespace == HR_NAMESPACE:
        if not is_hr(user):
            raise PermissionDenied(_("Only HR can see these dashboards."))
        return Scope(namespace)
    if not is_manager(user):
        raise PermissionDenied(_("Only managers can see their team's dashboards."))
    employee = employee_for(user)  # read once for the request by people.middleware
    manager_id = employee.pk if employee is not None else None
    # HR counts as a manager everywhere else; here a manager's page is about their own reports,
    # and someone with no employee record has none (-1 matches nobody).
    return Scope(namespace, manager_id if manager_id is not None else -1)


def require_hr_scope(scope: Scope) -> None:
    if not scope.may_name_people:
        raise PermissionDenied(_("Only HR can see named people, and every look is logged."))
