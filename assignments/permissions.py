"""Yes/no answers about what a user may do with a proposal. Views check these; services trust
them. Who counts as HR or a manager is `people.roles`."""

from people.roles import is_hr, manages


def can_propose_for(user, employee) -> bool:
    """Managers propose for their own direct reports; HR for anyone active."""
    return is_hr(user) or manages(user, employee)


def can_decide(user, proposal) -> bool:
    """Only the person the proposal is about. Never a manager, HR or an API client."""
    return user.is_authenticated and proposal.employee.user_id == user.pk


def can_manage_proposal(user, proposal) -> bool:
    """Extend or withdraw: the proposer, the employee's manager, or HR."""
    return is_hr(user) or proposal.proposed_by_id == user.pk or manages(user, proposal.employee)
