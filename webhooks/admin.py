from django.contrib import admin

from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "events", "is_active", "failing_since", "disabled_at", "created_at")
    list_filter = ("is_active",)
    exclude = ("secret", "previous_secret")  # signing secrets are shown once, never here
    readonly_fields = ("failing_since", "disabled_at", "disabled_reason", "previous_secret_until")


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("at", "status_code", "error", "duration_ms")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: every attempt's status, per delivery."""

    list_display = (
        "message_id",
        "topic",
        "endpoint",
        "state",
        "attempts",
        "last_status",
        "created_at",
    )
    list_filter = ("state", "topic")
    search_fields = ("message_id", "event_key")
    inlines = [AttemptInline]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def get_fields(self, request, obj=None):
        # A consent.changed body says whether one named person allowed a data-use purpose:
        # nobody in the company reads that here, not even an admin (DESIGN.md, roles).
        fields = super().get_fields(request, obj)
        if obj is not None and obj.topic == "consent.changed":
            return [f for f in fields if f != "payload"]
        return fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
