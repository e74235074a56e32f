from django.contrib import admin, messages

from notifications import tasks
from notifications.models import Notification
from portal.celery import enqueue_after_commit


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read-only, except "send again" for emails that gave up (email state: failed)."""

    list_display = (
        "id",
        "kind",
        "recipient",
        "email_state",
        "email_attempts",
        "created_at",
        "read_at",
    )
    list_filter = ("email_state", "kind")
    search_fields = ("dedupe_key", "recipient__email")
    list_select_related = ("recipient",)
    readonly_fields = [f.name for f in Notification._meta.fields]
    actions = ["send_again"]

    def get_queryset(self, request):
        # A data-use receipt or reminder says what one person chose about their data: nobody
        # in the company browses those, not even an admin (DESIGN.md, roles).
        return super().get_queryset(request).exclude(kind__startswith="data_use_")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Send the email again (failed ones only)")
    def send_again(self, request, queryset):
        ids = list(
            queryset.filter(email_state=Notification.EmailState.FAILED).values_list("pk", flat=True)
        )
        Notification.objects.filter(pk__in=ids).update(
            email_state=Notification.EmailState.PENDING, email_attempts=0, email_error=""
        )
        enqueue_after_commit(tasks.queue_emails, ids)
        self.message_user(request, f"{len(ids)} email(s) queued again.", messages.SUCCESS)
