from people.roles import is_hr, is_manager


def roles(request):
    """For the header: whether to show the manager's pages and the HR workspace."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"show_team_nav": is_manager(user), "show_hr_nav": is_hr(user)}
