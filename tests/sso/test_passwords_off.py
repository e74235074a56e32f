"""PORTAL_PASSWORD_LOGIN=0: no page takes, sets or resets a portal password; the admin neither.

(The sign-in through the provider with passwords off is driven in the browser in
test_sign_in.py.)"""

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.urls import reverse

pytestmark = pytest.mark.django_db

SSO_APP = {
    "provider_id": "company",
    "name": "Example Corp SSO",
    "client_id": "portal",
    "secret": "test-only",
    "settings": {"server_url": "http://127.0.0.1:9/"},  # never called by these tests
}


@pytest.fixture
def passwords_off(settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": [SSO_APP]}}
    settings.PORTAL_PASSWORD_LOGIN = False
    return settings


def test_the_sign_in_page_offers_only_single_sign_on(client, passwords_off):
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with Example Corp SSO" in page
    assert 'type="password"' not in page
    assert "Forgot your password?" not in page


def test_with_passwords_on_both_ways_are_offered(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": [SSO_APP]}}
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with Example Corp SSO" in page
    assert 'type="password"' in page


def test_posting_a_password_is_refused(client, passwords_off, employee):
    response = client.post("/accounts/login/", {"login": employee.email, "password": "pw"})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
    assert client.get("/inbox/").status_code == 302


def test_the_admin_takes_no_password_either(client, passwords_off):
    get_user_model().objects.create_superuser(username="root", email="r@x.test", password="pw")
    response = client.post("/admin/login/", {"username": "root", "password": "pw"})
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/password/reset/",
        "/accounts/password/reset/done/",
        "/accounts/password/reset/key/1-set-password/",
        "/accounts/password/change/",
        "/accounts/password/set/",
        "/accounts/reauthenticate/",
        "/admin/password_change/",
    ],
)
def test_password_pages_are_gone(client, passwords_off, employee, path):
    assert client.get(path).status_code == 404
    client.force_login(employee.user)
    assert client.get(path).status_code == 404
    assert client.post(path, {"email": employee.email}).status_code == 404


def test_a_password_reset_sends_nothing(client, passwords_off, employee, mailoutbox):
    client.post("/accounts/password/reset/", {"email": employee.email})
    assert mailoutbox == []


def test_a_signed_in_person_confirms_it_is_them_by_emailed_code_not_password(
    client, passwords_off, employee, mailoutbox
):
    """Adding an authenticator asks "is it still you?": with passwords off, by a code sent
    to the person's address (people who signed in with SSO have it on file, verified)."""
    EmailAddress.objects.create(user=employee.user, email=employee.email, verified=True)
    client.force_login(employee.user)
    response = client.get(reverse("mfa_activate_totp"), follow=True)
    assert response.request["PATH_INFO"] == reverse("account_request_reauthentication_code")
    response = client.post(
        response.wsgi_request.get_full_path(), {"recipient": employee.email}, follow=True
    )
    [message] = mailoutbox
    assert message.to == [employee.email]
    code = re.search(r"^([A-Z0-9]{4}-[A-Z0-9]{4})$", message.body, re.MULTILINE).group(1)
    response = client.post(response.wsgi_request.get_full_path(), {"code": code}, follow=True)
    assert response.request["PATH_INFO"] == reverse("mfa_activate_totp")
    assert "Authenticator" in response.content.decode()
