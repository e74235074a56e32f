import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_people_sign_in_with_email_and_password(client, employee):
    page = client.get("/accounts/login/").content.decode()
    assert "Forgot your password?" in page and "sign up" not in page.lower()
    response = client.post("/accounts/login/", {"login": "eve@example.test", "password": "pw"})
    assert response.status_code == 302
    assert client.get("/", follow=True).request["PATH_INFO"] == "/inbox/"


def test_nobody_can_sign_up_on_their_own(client):
    response = client.get("/accounts/signup/")
    assert response.status_code == 200
    assert "closed" in response.content.decode().lower()


def test_password_reset_is_sent_by_email(client, employee, mailoutbox):
    response = client.post("/accounts/password/reset/", {"email": "eve@example.test"})
    assert response.status_code == 302
    [message] = mailoutbox
    assert message.to == ["eve@example.test"]
    assert "/accounts/password/reset/key/" in message.body


def test_signing_out_takes_a_post(eve_client):
    assert eve_client.post("/accounts/logout/").status_code == 302
    assert eve_client.get("/inbox/").status_code == 302  # back to sign-in


def test_hr_and_admins_must_set_up_totp_when_debug_is_off(client, settings, hr_user, employee):
    settings.DEBUG = False
    settings.PORTAL_REQUIRE_MFA = True
    client.post("/accounts/login/", {"login": "harper@example.test", "password": "pw"})
    response = client.get("/inbox/")
    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")
    # The setup page (behind allauth's password re-check) is reachable: no redirect loop.
    setup = client.get(reverse("mfa_activate_totp"), follow=True)
    assert setup.status_code == 200
    assert setup.request["PATH_INFO"] == "/accounts/reauthenticate/"
    Authenticator.objects.create(user=hr_user, type=Authenticator.Type.TOTP, data={})
    assert client.get("/inbox/").status_code == 200

    client.force_login(employee.user)  # an ordinary employee is not forced
    assert client.get("/inbox/").status_code == 200


def test_the_mfa_rule_is_off_in_debug_mode_for_the_demo_logins(client, settings, hr_user):
    settings.PORTAL_REQUIRE_MFA = False
    client.force_login(hr_user)
    assert client.get("/inbox/").status_code == 200


def test_everyone_can_set_up_totp(client, employee):
    client.force_login(employee.user)
    # allauth asks for the password again before adding an authenticator.
    client.post("/accounts/reauthenticate/", {"password": "pw"})
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    assert "Authenticator" in page.content.decode()


def test_an_hr_partner_sets_up_totp_then_signs_in_with_a_code(client, settings, hr_user):
    import time

    from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY, format_hotp_value, hotp_value

    settings.PORTAL_REQUIRE_MFA = True
    client.post("/accounts/login/", {"login": "harper@example.test", "password": "pw"})
    assert client.get("/team/proposals/").url == reverse("mfa_activate_totp")
    client.post("/accounts/reauthenticate/", {"password": "pw"})
    assert client.get(reverse("mfa_activate_totp")).status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    client.post(reverse("mfa_activate_totp"), {"code": code})
    assert Authenticator.objects.filter(user=hr_user, type=Authenticator.Type.TOTP).exists()
    assert client.get("/team/proposals/").status_code == 200

    client.post("/accounts/logout/")
    response = client.post("/accounts/login/", {"login": "harper@example.test", "password": "pw"})
    assert response.url == reverse("mfa_authenticate")  # the password alone is not enough now
    assert client.get("/team/proposals/").status_code == 302
