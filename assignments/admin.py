from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from assignments.models import (
    Campaign,
    Move,
    PlacementPreference,
    PlacementRequest,
    Proposal,
    ProposalEvent,
)
from assignments.services import end_leave, start_leave
from consent.access import record_read
from people.admin import AccountAdmin, EmployeeAdmin
from people.models import Employee

ADMIN_PURPOSE = "admin"


class AccessLoggedAdmin:
    """An administrator opening a person's record (to view or to change it) is a read of that
    person's data by someone else: it lands in their access log, as every other read does.

    People's records are administered in people/admin.py, which cannot reach the ledger's access
    log (same floor), so the logging is added here, one floor up."""

    def person_shown(self, obj):
        """The account whose data this page shows."""
        raise NotImplementedError

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            subject = self.person_shown(obj)
            if subject is not None:
                record_read(
                    viewer=request.user, subject=subject, page=request.path, purpose=ADMIN_PURPOSE
                )
        return super().render_change_form(request, context, add, change, form_url, obj)


def _has_records(employee: Employee) -> bool:
    return (
        employee.proposals.exists()
        or employee.moves.exists()
        or employee.user.consent_records.exists()
    )


# Leave is added here because putting someone on leave pauses their response windows, which
# is this app's rule.
admin.site.unregister(Employee)


@admin.register(Employee)
class EmployeeWithLeaveAdmin(AccessLoggedAdmin, EmployeeAdmin):
    actions = ["mark_on_leave", "mark_back_from_leave"]

    def person_shown(self, obj):
        return obj.user_id

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and request.method == "GET" and _has_records(obj):
            self.message_user(
                request,
                _(
                    "%(name)s has proposals, moves or consent records, so their account link is "
                    "fixed: nobody can point this record at another account."
                )
                % {"name": obj.name},
                messages.INFO,
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.action(description="Mark on leave (pauses their response windows)")
    def mark_on_leave(self, request, queryset):
        for employee in queryset:
            start_leave(employee=employee, actor=request.user)
        self.message_user(request, f"{queryset.count()} marked on leave.", messages.SUCCESS)

    @admin.action(description="Mark back from leave (extends open deadlines by the days away)")
    def mark_back_from_leave(self, request, queryset):
        extended = sum(len(end_leave(employee=e, actor=request.user)) for e in queryset)
        self.message_user(
            request, f"Back from leave; {extended} open deadline(s) extended.", messages.SUCCESS
        )


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class AccessLoggedAccountAdmin(AccessLoggedAdmin, AccountAdmin):
    def person_shown(self, obj):
        return obj.pk


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    """HR works campaigns at /hr/campaigns/; here the send's own fields are read-only (a
    campaign is sent by `services.send_campaign`, once)."""

    list_display = (
        "name",
        "state",
        "accountable_owner",
        "data_labelling_percent",
        "response_working_days",
        "created_at",
    )
    list_filter = ("state",)
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = (
        "state",
        "audience_label",
        "send_errors",
        "sent_by",
        "queued_at",
        "sent_at",
    )
    exclude = ("audience",)


class ReadOnlyAdmin(admin.ModelAdmin):
    """State changes go through services (with their ledger and events), not admin forms."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ProposalEventInline(admin.TabularInline):
    model = ProposalEvent
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "actor", "at", "detail")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Proposal)
class ProposalAdmin(AccessLoggedAdmin, ReadOnlyAdmin):
    list_display = ("id", "employee", "kind", "to_team", "state", "response_deadline", "start_date")
    list_filter = ("state", "kind")
    search_fields = ("employee__name", "employee__email")
    list_select_related = ("employee", "to_team")
    inlines = [ProposalEventInline]

    def person_shown(self, obj):
        return obj.subject_user_id or obj.employee.user_id


@admin.register(Move)
class MoveAdmin(AccessLoggedAdmin, ReadOnlyAdmin):
    list_display = ("employee", "from_team", "to_team", "effective_date", "applied_at")
    list_select_related = ("employee", "from_team", "to_team")

    def person_shown(self, obj):
        return obj.employee.user_id


class PlacementPreferenceInline(admin.TabularInline):
    model = PlacementPreference
    extra = 0


@admin.register(PlacementRequest)
class PlacementRequestAdmin(AccessLoggedAdmin, ReadOnlyAdmin):
    list_display = ("employee", "priority", "state", "created_at")
    list_filter = ("state", "priority")
    list_select_related = ("employee",)
    inlines = [PlacementPreferenceInline]

    def person_shown(self, obj):
        return obj.employee.user_id
