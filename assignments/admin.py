from django.contrib import admin, messages

from assignments.models import (
    Campaign,
    Move,
    PlacementPreference,
    PlacementRequest,
    Proposal,
    ProposalEvent,
)
from assignments.services import end_leave, start_leave
from people.admin import EmployeeAdmin
from people.models import Employee

# People's records are administered in people/admin.py; leave is added here because putting
# someone on leave pauses their response windows, which is this app's rule.
admin.site.unregister(Employee)


@admin.register(Employee)
class EmployeeWithLeaveAdmin(EmployeeAdmin):
    actions = ["mark_on_leave", "mark_back_from_leave"]

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
class ProposalAdmin(ReadOnlyAdmin):
    list_display = ("id", "employee", "kind", "to_team", "state", "response_deadline", "start_date")
    list_filter = ("state", "kind")
    search_fields = ("employee__name", "employee__email")
    list_select_related = ("employee", "to_team")
    inlines = [ProposalEventInline]


@admin.register(Move)
class MoveAdmin(ReadOnlyAdmin):
    list_display = ("employee", "from_team", "to_team", "effective_date", "applied_at")
    list_select_related = ("employee", "from_team", "to_team")


class PlacementPreferenceInline(admin.TabularInline):
    model = PlacementPreference
    extra = 0


@admin.register(PlacementRequest)
class PlacementRequestAdmin(ReadOnlyAdmin):
    list_display = ("employee", "priority", "state", "created_at")
    list_filter = ("state", "priority")
    list_select_related = ("employee",)
    inlines = [PlacementPreferenceInline]
