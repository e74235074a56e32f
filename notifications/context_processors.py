from notifications.selectors import unread_count


def bell(request):
    """`bell_unread_count` for templates/notifications/_bell.html.

    A callable, so the COUNT query runs only on pages that actually render the bell.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"bell_unread_count": lambda: unread_count(user)}
