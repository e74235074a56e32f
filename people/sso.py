"""Single sign-on: who a sign-in through the company's OpenID Connect provider is.

Nobody signs up. A sign-in is matched, every time, to a person the HRIS provisioned (SCIM):
by the claim PORTAL_OIDC_MATCH_CLAIM against their email (PORTAL_OIDC_MATCH_BY=email, the
default) or their external id, the HRIS employee number (PORTAL_OIDC_MATCH_BY=external_id).
Someone the portal does not know gets a page that says to ask HR, and nothing is created.

The match is made from the provider's claims on every sign-in, never from a stored link alone:
a link row in the database (allauth's SocialAccount) that points at another account than the
claims do is refused, and a person already linked to one provider identity is not linked to a
second, so nobody becomes someone else by editing rows or addresses.
"""

from allauth.account.models import EmailAddress
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.shortcuts import render

from people.models import Employee


def sign_in_claims(sociallogin) -> dict:
    """The provider's claims: the ID token's, overlaid by the userinfo endpoint's answer."""
    data = sociallogin.account.extra_data or {}
    return {**(data.get("id_token") or {}), **(data.get("userinfo") or {})}


def _verified_flag_is_false(claims: dict) -> bool:
    # Entra ID sends no email_verified claim; a provider that says "not verified" is believed.
    return str(claims.get("email_verified", "")).lower() == "false"


def account_for_claims(claims: dict):
    """The active user account these claims belong to, or None.

    A provisioned, active Employee matched by the configured claim; or, for an address only,
    a staff account that is nobody's Employee (the first admin, created by an operator).
    """
    value = claims.get(settings.PORTAL_OIDC_MATCH_CLAIM)
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    if settings.PORTAL_OIDC_MATCH_BY == "external_id":
        employee = Employee.objects.select_related("user").filter(external_id=value).first()
    else:
        if _verified_flag_is_false(claims):
            return None
        employee = Employee.objects.select_related("user").filter(email__iexact=value).first()
        if employee is None:
            return (
                get_user_model()
                .objects.filter(email__iexact=value, is_staff=True, is_active=True)
                .exclude(employee__isnull=False)
                .first()
            )
    if employee is None or not employee.is_active or not employee.user.is_active:
        return None
    return employee.user


def _refuse(request, claims: dict, *, linked_elsewhere: bool = False):
    """A page that says why and who to ask (403); nothing was stored."""
    shown = claims.get(settings.PORTAL_OIDC_MATCH_CLAIM) or claims.get("email") or ""
    response = render(
        request,
        "socialaccount/not_provisioned.html",
        {"who": shown if isinstance(shown, str) else "", "linked_elsewhere": linked_elsewhere},
        status=403,
    )
    raise ImmediateHttpResponse(response)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin):
        return False

    def pre_social_login(self, request, sociallogin):
        """Bind the sign-in to the person the claims name, or refuse it (403, nothing stored)."""
        claims = sign_in_claims(sociallogin)
        user = account_for_claims(claims)
        if user is None:
            _refuse(request, claims)
        if sociallogin.state.get("process") == "connect" and user != request.user:
            # Linking from a signed-in session: only the provider identity that is the same
            # person may be linked to it.
            _refuse(request, claims, linked_elsewhere=True)
        if sociallogin.is_existing:
            if sociallogin.user.pk != user.pk:
                _refuse(request, claims, linked_elsewhere=True)
        elif SocialAccount.objects.filter(
            user=user, provider=sociallogin.account.provider
        ).exists():
            # One provider identity per person: another identity whose claims now name them
            # (an address reassigned at the provider) is refused until the old link is removed.
            _refuse(request, claims, linked_elsewhere=True)
        with transaction.atomic():
            if not sociallogin.is_existing:
                sociallogin.connect(request, user)
            _record_verified_address(user)


def _record_verified_address(user) -> None:
    """The HRIS's address, vouched for by the company's provider. A verified address lets the
    person confirm it is them by an emailed code: with passwords off, the only way besides
    TOTP to reach the two-factor setup."""
    employee = Employee.objects.filter(user=user).only("email").first()
    email = employee.email if employee is not None else user.email
    if email:
        EmailAddress.objects.update_or_create(
            user=user, email__iexact=email, defaults={"email": email, "verified": True}
        )
