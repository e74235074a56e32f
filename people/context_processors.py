from people.roles import is_manager


def roles(request):
    """`show_team_nav` for the header: whether to show the manager's pages."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"show_team_nav": is_manager(user)}
