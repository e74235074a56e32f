"""Events that other systems act on, written in the same transaction as the change itself.

A task queued "on commit" is lost if the process dies between COMMIT and the broker call; a
row in this table cannot be: it commits (or rolls back) together with the change it reports,
and `outbox.services.dispatch_pending` delivers it later, from a periodic task, exactly once in
effect. This app depends on nothing else in the project: producers (assignments) write rows,
consumers (notifications now, webhooks later) are named in settings.OUTBOX_HANDLERS.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxEvent(models.Model):
    topic = models.CharField(max_length=100)  # e.g. "move.effective"
    # Unique per event, so a producer that runs twice (a retried task) records it once.
    key = models.CharField(max_length=200, unique=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"],
                condition=Q(dispatched_at__isnull=True),
                name="outbox_undispatched_idx",
            )
        ]

    def __str__(self):
        state = "dispatched" if self.dispatched_at else "pending"
        return f"{self.topic} {self.key} ({state})"
