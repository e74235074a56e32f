"""Nobody sets another person's password: the admin has no page for it. People reset their
own by email or sign in with SSO."""

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, settings):
    settings.PORTAL_REQUIRE_MFA = False
    admin = get_user_model().objects.create_superuser(
        username="root", email="root@example.test", password="pw"
    )
    client.force_login(admin)
    return client


def test_the_admin_cannot_set_another_persons_password(admin_client, employee):
    url = f"/admin/auth/user/{employee.user.pk}/password/"
    assert admin_client.get(url).status_code == 403
    response = admin_client.post(
        url, {"password1": "chosen-by-admin-1", "password2": "chosen-by-admin-1"}
    )
    assert response.status_code == 403
    employee.user.refresh_from_db()
    assert not employee.user.check_password("chosen-by-admin-1")
    assert employee.user.check_password("pw")


def test_the_person_page_neither_shows_nor_links_a_password_form(admin_client, employee):
    page = admin_client.get(f"/admin/auth/user/{employee.user.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "/password/" not in body
    assert 'name="password' not in body


def test_a_new_account_made_in_the_admin_has_no_password(admin_client):
    page = admin_client.get("/admin/auth/user/add/").content.decode()
    assert 'name="password1"' not in page
    response = admin_client.post(
        "/admin/auth/user/add/",
        {"username": "newcomer", "email": "newcomer@example.test", "password1": "x-Y-z-123456"},
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(username="newcomer")
    assert not user.has_usable_password()


def test_the_admin_cannot_repoint_what_sign_in_matches_on(admin_client, employee):
    """Changing someone's address (where password resets go, what SSO matches) would let an
    admin reset their password or sign in as them."""
    page = admin_client.get(f"/admin/auth/user/{employee.user.pk}/change/").content.decode()
    assert 'name="email"' not in page
    page = admin_client.get(f"/admin/people/employee/{employee.pk}/change/").content.decode()
    for field in ("email", "external_id", "user"):
        assert f'name="{field}"' not in page
    assert admin_client.get("/admin/account/emailaddress/add/").status_code == 403
    assert admin_client.get("/admin/socialaccount/socialaccount/add/").status_code == 403


def test_the_admin_cannot_give_anyone_an_authenticator_nor_read_one(admin_client, employee):
    """An authenticator the admin set up for someone would be a second factor the admin holds."""
    from allauth.mfa.models import Authenticator

    assert admin_client.get("/admin/mfa/authenticator/add/").status_code == 403
    totp = Authenticator.objects.create(
        user=employee.user, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"}
    )
    page = admin_client.get(f"/admin/mfa/authenticator/{totp.pk}/change/").content.decode()
    assert "JBSWY3DPEHPK3PXP" not in page
    assert (
        admin_client.post(
            f"/admin/mfa/authenticator/{totp.pk}/change/", {"user": employee.user.pk}
        ).status_code
        == 403
    )
    # Removing a lost one stays possible: the person then sets up a new one themselves.
    assert admin_client.get(f"/admin/mfa/authenticator/{totp.pk}/delete/").status_code == 200
