"""django-allauth hooks. The single sign-on adapter, which reads people, is people.sso."""

from allauth.account.adapter import DefaultAccountAdapter

from portal.signin import password_login_enabled


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # People are provisioned by the HRIS; nobody creates their own account.
        return False

    def authenticate(self, request, **credentials):
        # With passwords off no password signs anyone in, whichever form it came through.
        if not password_login_enabled():
            return None
        return super().authenticate(request, **credentials)

    def get_reauthentication_methods(self, user):
        # With passwords off a person confirms it is them by a code sent to their address or
        # by their authenticator app, never by a password.
        methods = super().get_reauthentication_methods(user)
        if password_login_enabled():
            return methods
        return [m for m in methods if m["id"] != "reauthenticate"]
