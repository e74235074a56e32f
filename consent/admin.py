from django.contrib import admin

from consent.models import ConsentRecord


@admin.register(ConsentRecord)
class ConsentRecordAdmin(admin.ModelAdmin):
    """Read-only: the ledger is append-only, and only the consent services append to it."""

    list_display = ("id", "recorded_at", "subject", "action", "about_kind", "about_id", "channel")
    list_filter = ("action", "about_kind", "channel")
    search_fields = ("subject__email", "about_id", "hash")
    date_hierarchy = "recorded_at"
    exclude = ("private_reason",)  # private: not even admins browse reasons here

    def get_queryset(self, request):
        # Individual data-use choices are the person's alone, not even an admin's to browse.
        return super().get_queryset(request).exclude(about_kind="data_use")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
