"""Single sign-on end to end: chromium, the portal's live server and a real OIDC provider.

Each test clicks "Sign in with Example Corp SSO", signs in on the provider's own page, grants
consent there, and follows the redirects back through the portal's callback (code exchange with
PKCE, signed ID token, userinfo), exactly as a person would.
"""

import re
import time

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from allauth.socialaccount.models import SocialAccount
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from playwright.sync_api import expect

from tests.web.test_browser import check_page

pytestmark = pytest.mark.django_db(transaction=True)

IDP_PAGE = re.compile(r"^http://127\.0\.0\.1:\d+/")
NOT_ON_RECORD = "This company account is not the one on your record"


def sign_in_through_provider(page, live_server, idp_login, next_path=""):
    """From the portal's sign-in page, through the provider's sign-in and consent pages."""
    # No request leaves the machine (the provider's page asks for a web font).
    page.context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if re.match(r"^http://(127\.0\.0\.1|localhost)[:/]", route.request.url)
            else route.abort()
        ),
    )
    page.goto(f"{live_server.url}/accounts/login/{next_path}")
    page.get_by_role("button", name="Sign in with Example Corp SSO").click()
    expect(page).to_have_url(IDP_PAGE)
    page.fill("input[name=login]", idp_login)
    page.fill("input[name=password]", "the provider checks this, not the portal")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()  # the provider's consent page
    page.wait_for_load_state()


def signed_in_user_id(page, live_server):
    """Whose session the browser now holds, read from the portal's own session store."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies(live_server.url)}
    key = cookies.get(django_settings.SESSION_COOKIE_NAME)
    if key is None:
        return None
    session = Session.objects.filter(session_key=key).first()
    if session is None:
        return None
    return session.get_decoded().get("_auth_user_id")


def test_a_provisioned_person_lands_on_their_own_inbox(
    live_server, page, sso, employee, outsider, proposal, screenshot_dir
):
    users_before = get_user_model().objects.count()
    page.goto(f"{live_server.url}/accounts/login/")
    check_page(page, screenshot_dir, "sso-sign-in")

    sign_in_through_provider(page, live_server, "eve")

    expect(page).to_have_url(f"{live_server.url}/inbox/")
    expect(page.get_by_text("Proposal: join Applied AI")).to_be_visible()  # Eve's proposal
    assert signed_in_user_id(page, live_server) == str(employee.user.pk)
    link = SocialAccount.objects.get(provider="company", uid="eve")
    assert link.user == employee.user
    assert get_user_model().objects.count() == users_before  # nobody was created


def test_someone_the_hris_never_provisioned_is_told_to_ask_hr_and_nothing_is_created(
    live_server, page, sso, employee, screenshot_dir
):
    users_before = get_user_model().objects.count()

    sign_in_through_provider(page, live_server, "nina")

    expect(page.get_by_role("heading", name="No portal account for you yet")).to_be_visible()
    expect(page.get_by_text("Please ask your HR partner to add you")).to_be_visible()
    expect(page.get_by_text("nina@example.test")).to_be_visible()
    check_page(page, screenshot_dir, "sso-not-provisioned")
    assert signed_in_user_id(page, live_server) is None
    assert get_user_model().objects.count() == users_before
    assert not SocialAccount.objects.exists()
    page.goto(f"{live_server.url}/inbox/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_a_deactivated_person_is_refused(live_server, page, sso, outsider):
    outsider.is_active = False
    outsider.save(update_fields=["is_active"])

    sign_in_through_provider(page, live_server, "oscar")

    expect(page.get_by_role("heading", name="No portal account for you yet")).to_be_visible()
    assert signed_in_user_id(page, live_server) is None


def test_people_can_be_matched_by_their_hris_employee_number(live_server, page, sso, employee):
    # The HRIS knows Eve under another address than the provider; her employee number is the
    # same in both.
    employee.email = "eve.employee@hr.example.test"
    employee.external_id = "E-1001"
    employee.save(update_fields=["email", "external_id"])
    sso.PORTAL_OIDC_MATCH_BY = "external_id"
    sso.PORTAL_OIDC_MATCH_CLAIM = "employee_number"

    sign_in_through_provider(page, live_server, "eve")

    expect(page).to_have_url(f"{live_server.url}/inbox/")
    assert signed_in_user_id(page, live_server) == str(employee.user.pk)


def test_a_stored_link_to_another_account_does_not_make_anyone_someone_else(
    live_server, page, sso, employee, outsider
):
    # As if an admin edited allauth's link rows: Oscar's provider identity pointed at Eve.
    SocialAccount.objects.create(provider="company", uid="oscar", user=employee.user)

    sign_in_through_provider(page, live_server, "oscar")

    expect(page.get_by_role("heading", name=NOT_ON_RECORD)).to_be_visible()
    assert signed_in_user_id(page, live_server) is None


def test_a_second_provider_identity_is_not_linked_to_someone_already_linked(
    live_server, page, sso, employee
):
    sign_in_through_provider(page, live_server, "eve")
    expect(page).to_have_url(f"{live_server.url}/inbox/")
    page.context.clear_cookies()

    # Another identity whose claims name Eve's address: refused, Eve keeps her one link.
    sign_in_through_provider(page, live_server, "eve-again")

    expect(page.get_by_role("heading", name=NOT_ON_RECORD)).to_be_visible()
    assert signed_in_user_id(page, live_server) is None
    assert list(SocialAccount.objects.values_list("uid", flat=True)) == ["eve"]


def test_with_passwords_off_the_admin_signs_in_with_sso_only(live_server, page, sso):
    # The first admin, created by an operator: a staff account that is nobody's Employee.
    admin = get_user_model().objects.create_superuser(
        username="alex", email="alex.admin@example.test", password=None
    )
    sso.PORTAL_PASSWORD_LOGIN = False

    sign_in_through_provider(page, live_server, "alex", next_path="?next=/admin/")

    expect(page).to_have_url(f"{live_server.url}/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    assert signed_in_user_id(page, live_server) == str(admin.pk)


def test_sso_sign_in_still_asks_for_the_code_of_a_person_with_totp(
    live_server, page, sso, employee
):
    secret = generate_totp_secret()
    TOTP.activate(employee.user, secret)

    sign_in_through_provider(page, live_server, "eve")

    expect(page).to_have_url(f"{live_server.url}/accounts/2fa/authenticate/")
    assert signed_in_user_id(page, live_server) is None
    page.get_by_label("Code").fill(format_hotp_value(hotp_value(secret, int(time.time()) // 30)))
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(f"{live_server.url}/inbox/")
    assert signed_in_user_id(page, live_server) == str(employee.user.pk)
