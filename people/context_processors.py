from django.contrib.auth.models import AbstractBaseUser

from people.roles import is_hr, is_manager


def roles(request):
    """For the header: whether to show the manager's pages and the HR workspace."""
    user = getattr(request, "user", None)
    # An API key (api.authentication.ApiClient) on a page such as /api/docs/ is no person.
    if not isinstance(user, AbstractBaseUser) or not user.is_authenticated:
        return {}
    return {"show_team_nav": is_manager(user), "show_hr_nav": is_hr(user)}
