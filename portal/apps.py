from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The wiring as an app: its system checks, and the idle sign-out's clock at sign-in."""

    name = "portal"
    verbose_name = "Consent Portal"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from portal import checks  # noqa: F401  (registers the system checks)

        user_logged_in.connect(_stamp_session_at_sign_in, dispatch_uid="portal-idle-clock")


def _stamp_session_at_sign_in(sender, request, user, **kwargs):
    from portal.middleware import stamp_session

    if request is not None and hasattr(request, "session"):
        stamp_session(request)
