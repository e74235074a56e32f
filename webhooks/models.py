"""Outgoing webhooks: the endpoints other systems register, and every delivery and attempt.

A delivery is created from an outbox event in the dispatcher's transaction (so an event is
never lost between a change and its webhook), one per subscribed endpoint, and is unique per
endpoint and event: a dispatcher that runs twice creates nothing new.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

EVENTS = (
    "proposal.created",
    "proposal.decided",
    "proposal.expired",
    "proposal.withdrawn",
    "move.effective",
    "placement.requested",
    "consent.changed",
)


class WebhookEndpoint(models.Model):
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list)
    # The signing secret ("whsec_" + base64). Shown once when created or rotated; kept because
    # every delivery is signed with it. The previous one keeps signing for a day after a
    # rotation, so receivers can switch without missing a message.
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    description = models.CharField(max_length=200, blank=True)
    owner_email = models.EmailField(blank=True, help_text="Told when the endpoint is disabled.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The endpoint's own account, never signed in: what the endpoint is sent about a person is
    # in that person's access log under this account (as an API key's reads are under its
    # own), so "who was told about me?" has an answer for webhooks too.
    service_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="webhook_endpoint",
    )
    is_active = models.BooleanField(default=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.url


class WebhookDelivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be delivered"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Gave up"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_key = models.CharField(max_length=200)  # the outbox event's unique key
    message_id = models.CharField(max_length=64, unique=True)  # webhook-id: stable on retries
    topic = models.CharField(max_length=100)
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_key"], name="one_delivery_per_event")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="webhook_due_idx",
            )
        ]

    def __str__(self):
        return f"{self.topic} -> {self.endpoint_id} ({self.state})"


class WebhookAttempt(models.Model):
    """One HTTP attempt: the delivery log admins read."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"attempt at {self.at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error[:40]}"
