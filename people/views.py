"""The person's own settings in the browser: the language they read the portal in."""

from django.conf import settings
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from people.models import Employee


def _safe_next(request) -> str:
    """Where to go back to: `next` (or the referring page) when it is on this site, else home."""
    for candidate in (request.POST.get("next"), request.META.get("HTTP_REFERER")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return "/"


@require_POST
def set_language(request):
    """Store the chosen language on the signed-in person's Employee row, so that pages, emails
    and the terms of new proposals follow it (people.middleware, notifications.rendering,
    assignments.terms.language_for). Signed out, or without an Employee row, the choice is
    kept the way Django's own `set_language` keeps it: in the language cookie. The cookie is
    set in both cases, so the sign-in page keeps the language too."""
    code = request.POST.get("language", "")
    if code not in dict(settings.LANGUAGES):
        return HttpResponseBadRequest("Unknown language.")
    if request.user.is_authenticated:
        Employee.objects.filter(user=request.user).update(language=code)
    response = HttpResponseRedirect(_safe_next(request))
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response
