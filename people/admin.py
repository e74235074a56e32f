from allauth.account.admin import EmailAddressAdmin
from allauth.account.models import EmailAddress
from allauth.mfa.admin import AuthenticatorAdmin
from allauth.mfa.models import Authenticator
from allauth.socialaccount.admin import SocialAccountAdmin
from allauth.socialaccount.models import SocialAccount
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db import router
from django.db.models.deletion import Collector, ProtectedError, RestrictedError
from django.utils.translation import gettext_lazy as _

from people import services
from people.models import Employee, Team, TeamChange


class TeamForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["name", "slug", "kind", "headcount_target", "description", "external_id"]

    def clean_kind(self):
        kind = self.cleaned_data["kind"]
        if self.instance.pk is not None:
            current = Team.objects.get(pk=self.instance.pk)
            try:
                services.check_team_kind(current, kind)
            except services.TeamKindRefused as refused:
                raise forms.ValidationError(refused.message) from None
        return kind


def has_history(obj) -> bool:
    """Whether a row the database protects (a proposal, a move, a consent record, an access
    log entry, from any app) points at obj: deleting it would then lose that history."""
    collector = Collector(using=router.db_for_write(type(obj)))
    try:
        collector.collect([obj])
    except (ProtectedError, RestrictedError):
        return True
    return False


class KeptWithHistoryAdmin:
    """Nothing lost: a person or account with history is deactivated, never deleted. Only one
    made by mistake, with nothing recorded about it, may be deleted, one at a time: the bulk
    delete (and Django's page listing what it would have to delete, decisions included) is
    not offered."""

    def has_delete_permission(self, request, obj=None):
        if obj is not None and has_history(obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    form = TeamForm
    list_display = ("name", "slug", "kind", "headcount_target")
    list_filter = ("kind",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    def save_model(self, request, obj, form, change):
        # The kind changes through the service (team row locked, rule checked again there);
        # the database refuses a populated team becoming an AI initiative in any case.
        if change and "kind" in form.changed_data:
            kind, obj.kind = obj.kind, form.initial["kind"]
            super().save_model(request, obj, form, change)
            obj.kind = services.change_team_kind(team=obj, kind=kind, actor=request.user).kind
            return
        super().save_model(request, obj, form, change)


@admin.register(Employee)
class EmployeeAdmin(KeptWithHistoryAdmin, admin.ModelAdmin):
    list_display = ("name", "email", "title", "team", "manager", "is_active", "on_leave_since")
    list_filter = ("is_active", "team", ("on_leave_since", admin.EmptyFieldListFilter))
    search_fields = ("name", "email", "external_id")
    list_select_related = ("team", "manager")
    raw_id_fields = ("user", "manager")
    # Kept whatever `actions` a subclass lists (assignments adds the leave actions).
    people_actions = ("deactivate_people", "reactivate_people")

    def get_readonly_fields(self, request, obj=None):
        # A team changes only through a consented Move or an audited administrative change,
        # never by editing a person; leave only through the leave actions, which pause and
        # extend response windows; deactivation only through its action, which ends sessions
        # and withdraws open proposals.
        if obj is None:
            return ("on_leave_since",)
        # Who a record is (its account, address and HRIS id) is what sign-in matches on: an
        # admin who could edit it could sign in as the person (people.sso). The HRIS changes
        # it over SCIM.
        return ("team", "on_leave_since", "is_active", "user", "email", "external_id")

    def get_actions(self, request):
        actions = super().get_actions(request)
        for name in self.people_actions:
            actions[name] = self.get_action(name)
        return actions

    @admin.action(description="Deactivate (ends their sessions, withdraws open proposals)")
    def deactivate_people(self, request, queryset):
        done = sum(services.deactivate_employee(employee=e, actor=request.user) for e in queryset)
        self.message_user(request, f"{done} deactivated; their history is kept.", messages.SUCCESS)

    @admin.action(description="Reactivate")
    def reactivate_people(self, request, queryset):
        done = sum(services.reactivate_employee(employee=e, actor=request.user) for e in queryset)
        self.message_user(request, f"{done} reactivated.", messages.SUCCESS)


@admin.register(TeamChange)
class TeamChangeAdmin(admin.ModelAdmin):
    """Administrative team changes are history: listed here, made by the HRIS over SCIM."""

    list_display = ("at", "employee", "from_team", "to_team", "client_name", "actor")
    list_select_related = ("employee", "from_team", "to_team", "actor")
    search_fields = ("employee__name", "client_name")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AccountCreationForm(forms.ModelForm):
    """A new account has no password: its owner sets one through the emailed reset link (or
    signs in with SSO). An admin who chose a person's password could sign in as them."""

    class Meta:
        model = get_user_model()
        fields = ["username", "email"]

    def save(self, commit=True):
        user = super().save(commit=False)
        user.set_unusable_password()
        if commit:
            user.save()
        return user


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class AccountAdmin(KeptWithHistoryAdmin, UserAdmin):
    """Django's user admin without its password pages: nobody sets another person's password.

    People reset their own by email (/accounts/password/reset/) or sign in with SSO; with
    PORTAL_PASSWORD_LOGIN=0 there are no portal passwords at all.
    """

    add_form = AccountCreationForm
    # The address receives password resets: changing someone's would let an admin reset
    # their password. The HRIS sets it (SCIM); an operator can in the shell.
    readonly_fields = ("email", "last_login", "date_joined")
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("username", "email")}),)
    fieldsets = tuple(
        (name, {**options, "fields": tuple(f for f in options["fields"] if f != "password")})
        for name, options in UserAdmin.fieldsets
    )

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def user_change_password(self, request, id, form_url=""):
        raise PermissionDenied(
            _("Nobody sets another person's password: they reset their own by email.")
        )


class ReadOnlyLinksMixin:
    """Addresses, provider links and authenticators prove who someone is at sign-in: an admin
    may remove a stale one (the person then sets it up again themselves), never add or repoint
    one, which would let the admin sign in as that person."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


admin.site.unregister(EmailAddress)
admin.site.unregister(SocialAccount)
admin.site.unregister(Authenticator)


@admin.register(EmailAddress)
class SignInAddressAdmin(ReadOnlyLinksMixin, EmailAddressAdmin):
    pass


@admin.register(SocialAccount)
class ProviderLinkAdmin(ReadOnlyLinksMixin, SocialAccountAdmin):
    pass


@admin.register(Authenticator)
class TwoFactorAdmin(ReadOnlyLinksMixin, AuthenticatorAdmin):
    # The secret and recovery codes are the person's own: never shown, even read-only.
    exclude = ("data",)
