from django.contrib import admin

from outbox.models import OutboxEvent


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    """Read-only: events are written by services and delivered by the dispatcher."""

    list_display = ("id", "topic", "key", "created_at", "dispatched_at", "attempts")
    list_filter = ("topic",)
    search_fields = ("key",)
    readonly_fields = [f.name for f in OutboxEvent._meta.fields]
    # A consent.changed payload says whether one named person allowed a data-use purpose:
    # nobody in the company reads that, not even an admin (DESIGN.md, roles).
    PRIVATE_TOPICS = ("consent.changed",)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and obj.topic in self.PRIVATE_TOPICS:
            return [f for f in fields if f != "payload"]
        return fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
