"""django-allauth hooks."""

from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # People are provisioned by the HRIS; nobody creates their own account.
        return False
