"""Request-wide behaviour for signed-in people: their time zone and language, and MFA for the
roles that see everyone's consent data."""

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation

from people.roles import is_hr
from people.selectors import parse_zone, signed_in_employee


class EmployeeTimezoneMiddleware:
    """Show dates and times in the signed-in person's own time zone (Employee.time_zone), and
    the portal in their own language when they chose one (else the browser's, via
    LocaleMiddleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        employee = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # One query for the person, their roles and their zone: the rest of the request
            # (employee_for, is_hr, is_manager, the header) reads them from the user object.
            employee = signed_in_employee(user)
        timezone.deactivate()
        if employee is not None:
            timezone.activate(parse_zone(employee.time_zone))
            if employee.language and employee.language in dict(settings.LANGUAGES):
                translation.activate(employee.language)
                request.LANGUAGE_CODE = employee.language
        return self.get_response(request)


class RequireMfaForPrivilegedMiddleware:
    """HR partners and admins see everyone's consent data, so a password alone is not enough.

    With PORTAL_REQUIRE_MFA (on whenever DJANGO_DEBUG is off), an HR or superuser account
    without a TOTP authenticator is sent to the TOTP setup page for every page except the
    account pages themselves (setup, sign-out, password) and static files. With DJANGO_DEBUG=1
    (make run) the demo accounts sign in with their password only.
    """

    EXEMPT_PREFIXES = ("/accounts/", "/static/", "/healthz")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.PORTAL_REQUIRE_MFA and self._needs_totp(request):
            return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)

    def _needs_totp(self, request) -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        if request.path.startswith(self.EXEMPT_PREFIXES):
            return False
        from allauth.mfa.models import Authenticator

        if not is_hr(user):
            return False
        return not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
