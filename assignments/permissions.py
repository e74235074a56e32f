"""Yes/no answers about what a user may do. Views check these; services trust them."""

HR_GROUP = "HR"


def is_hr(user) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_is_hr", None)
    if cached is None:
        cached = user._is_hr = user.groups.filter(name=HR_GROUP).exists()
    return cached


def can_propose_for(user, employee) -> bool:
    """Managers propose for their own direct reports; HR for anyone active."""
    if is_hr(user):
        return True
    manager = employee.manager
    return manager is not None and manager.user_id == user.pk


def can_decide(user, proposal) -> bool:
    """Only the person the proposal is about. Never a manager, HR or an API client."""
    return user.is_authenticated and proposal.employee.user_id == user.pk


def can_manage_proposal(user, proposal) -> bool:
    """Extend or withdraw: the proposer, the employee's manager, or HR."""
    if is_hr(user) or proposal.proposed_by_id == user.pk:
        return True
    manager = proposal.employee.manager
    return manager is not None and manager.user_id == user.pk
