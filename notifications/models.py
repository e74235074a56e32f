"""What the portal told whom: one row per message, shown in-app and (usually) emailed.

The row is written before anything is sent, in the same transaction as the change it reports
(or by an idempotent task), so it doubles as the email outbox: `email_state` says whether the
email still has to go, went, or failed for good. The unique `dedupe_key` is what makes every
producer safe to run twice: a retried task, a second sweep or a redelivered message inserts
nothing new and therefore sends nothing new.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    class Kind(models.TextChoices):
        # The template names under templates/emails/ are these values.
        PROPOSAL_ARRIVED = "proposal_arrived", _("New proposal")
        DEADLINE_REMINDER = "deadline_reminder", _("Deadline reminder")
        DECISION_RECEIPT = "decision_receipt", _("Receipt for your decision")
        PROPOSAL_DECIDED = "proposal_decided", _("Employee decided")
        PROPOSAL_EXPIRED = "proposal_expired", _("Proposal expired")
        PROPOSAL_WITHDRAWN = "proposal_withdrawn", _("Proposal withdrawn")
        DEADLINE_EXTENDED = "deadline_extended", _("Deadline extended")
        MOVE_EFFECTIVE = "move_effective", _("Move took effect")
        PLACEMENT_REQUESTED = "placement_requested", _("New placement request")
        HR_DIGEST = "hr_digest", _("Daily HR digest")
        DATA_USE_RECEIPT = "data_use_receipt", _("Receipt for your data-use choice")
        DATA_USE_ASKED_AGAIN = "data_use_asked_again", _("A data-use purpose changed")
        DATA_USE_LAPSE_REMINDER = "data_use_lapse_reminder", _("Data-use consent lapses soon")

    class EmailState(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed: gave up after retries")
        NONE = "none", _("In-app only")

    # No index of its own: notification_inbox_idx starts with recipient and serves every
    # lookup by it, and one index fewer is one write fewer per row in the expiry sweep.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    kind = models.CharField(max_length=40, choices=Kind.choices)
    # e.g. "proposal_arrived:42" or "deadline_reminder:42:24h:2026-12-01T09:00:00+00:00".
    dedupe_key = models.CharField(max_length=200, unique=True)
    # Only what the templates need, as JSON primitives (ids, names, ISO times). Never a private
    # reason: the proposer's messages are built from state, not from the ledger's free text.
    context = models.JSONField(default=dict, blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    email_state = models.CharField(
        max_length=10, choices=EmailState.choices, default=EmailState.PENDING
    )
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_last_attempt_at = models.DateTimeField(null=True, blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    email_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox_idx"),
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
            # The re-queue sweep looks only at emails still waiting.
            models.Index(
                fields=["created_at"],
                condition=Q(email_state="pending"),
                name="notification_email_pending_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.recipient_id} ({self.dedupe_key})"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
