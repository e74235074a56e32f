"""The sign-in pages' request-time rules: portal passwords can be turned off, and the SSO form
may send the browser on to the company's provider.

Passwords off (PORTAL_PASSWORD_LOGIN=0): everyone, admins included, signs in through the
company's OpenID Connect provider, and no page takes a password. allauth's own switch for this
(SOCIALACCOUNT_ONLY) refuses to run next to allauth.mfa, which the portal needs for TOTP, so
the password pages are closed here instead, by URL name, at request time.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

# Every page that reads, sets or resets a portal password: allauth's and the admin's.
PASSWORD_PAGES = frozenset(
    {
        "account_change_password",
        "account_set_password",
        "account_reset_password",
        "account_reset_password_done",
        "account_reset_password_from_key",
        "account_reset_password_from_key_done",
        "account_confirm_password_reset_code",
        "account_complete_password_reset",
        "account_password_reset_completed",
        "account_reauthenticate",  # asks for the password again
        "admin:password_change",
        "admin:password_change_done",
        "admin:auth_user_password_change",
    }
)
# Pages whose form posts to the portal, which then redirects the browser to the provider.
SSO_FORM_PAGES = frozenset({"account_login", "openid_connect_login"})


def password_login_enabled() -> bool:
    return settings.PORTAL_PASSWORD_LOGIN


def provider_origins() -> list[str]:
    """The origins of the configured OpenID Connect providers (scheme://host[:port])."""
    apps = settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {}).get("APPS", [])
    origins = []
    for app in apps:
        parts = urlsplit(app.get("settings", {}).get("server_url", ""))
        if parts.scheme and parts.netloc:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    return origins


class SignInMiddleware:
    """With passwords off, the password pages answer 404 and the sign-in form refuses a POST
    (403): the sign-in page then only offers single sign-on.

    The Content Security Policy's form-action is 'self'; browsers apply it to the redirects
    that follow a form submission too, so the pages with the SSO button also allow the
    provider's origin (its authorization endpoint is on the issuer's host for Okta, Entra ID
    and Google).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.view_name in SSO_FORM_PAGES:
            origins = provider_origins()
            if origins:
                response._csp_update = {"form-action": origins}
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if password_login_enabled():
            return None
        refused = _("Portal passwords are turned off: sign in with single sign-on.")
        name = request.resolver_match.view_name
        if name in PASSWORD_PAGES:
            raise Http404(refused)
        if name == "account_login" and request.method != "GET":
            raise PermissionDenied(refused)
        return None


def password_login(request):
    """Template context: whether the sign-in page shows the password form."""
    return {"password_login": password_login_enabled()}
