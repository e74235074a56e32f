"""The consent ledger: an append-only, hash-chained record of every decision a person makes.

The ledger knows nothing of workflows. A record says what it is about by reference
(`about_kind` + `about_id`) and pins the exact terms shown with their sha256, so the same
ledger serves transfer proposals and data-use purposes alike.
"""

import json

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64
# The chain's format (consent.ledger): 2 hashes the sealed reason and the sequence number.
# Records written in format 1 were re-chained into format 2 once (migration 0007).
LEDGER_FORMAT = 2


class LedgerImmutableError(Exception):
    """Raised when code tries to change or delete a ledger row."""


class ConsentRecord(models.Model):
    class Action(models.TextChoices):
        OPT_IN = "opt_in", _("Opted in")
        OPT_OUT = "opt_out", _("Opted out")
        WITHDRAW = "withdraw", _("Withdrew consent")
        EXPIRE = "expire", _("Expired without an answer")
        UNDRAFT = "undraft", _("Undrafted after the move")

    class Channel(models.TextChoices):
        WEB = "web", _("Web")
        API = "api", _("API")
        SYSTEM = "system", _("System")
        IMPORT = "import", _("Import")

    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="consent_records"
    )
    about_kind = models.CharField(max_length=40)
    about_id = models.CharField(max_length=64)
    action = models.CharField(max_length=16, choices=Action.choices)
    terms_sha256 = models.CharField(max_length=64)
    terms_version = models.CharField(max_length=40)
    # Null for decisions the system records (expiry); never another person's id for a
    # decision, because only the subject may decide (services enforce actor == subject).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    recorded_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)
    # The private reason, sealed with the subject's data key (consent.crypto): the database
    # never holds its words. Read it only through consent.selectors.private_reason_of, which
    # opens it for the subject alone. Empty when no reason was given.
    reason_ciphertext = models.TextField(blank=True, default="")
    reason_key = models.ForeignKey(
        "consent.SubjectKey", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Gapless position in the chain, from 1, hashed with the record: a checkpoint names a
    # sequence number and its hash, so a rewrite, a missing tail or a truncation shows.
    seq = models.PositiveBigIntegerField(unique=True)
    format = models.PositiveSmallIntegerField(default=LEDGER_FORMAT)
    # The hash this record had in the format before (empty for records written in this one):
    # receipts issued before the re-chain name it as their consentReceiptID.
    legacy_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["about_kind", "about_id", "id"], name="consent_about_idx"),
            models.Index(fields=["subject", "id"], name="consent_subject_idx"),
            models.Index(fields=["recorded_at"], name="consent_recorded_at_idx"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.subject_id} {self.action} {self.about_kind}:{self.about_id}"

    def save(self, *args, **kwargs):
        # Early, friendly guard; the database trigger is the real guarantee because raw SQL
        # and bulk queries never call save().
        if self.pk is not None and not self._state.adding:
            raise LedgerImmutableError("consent records are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerImmutableError("consent records are append-only")

    @property
    def reason_given(self) -> bool:
        """Whether the person gave a reason (never what it says)."""
        return bool(self.reason_ciphertext)


class SubjectKey(models.Model):
    """A person's data key for their private reasons, wrapped by the master key.

    The only mutable table of the ledger: erasing a person's reasons blanks `wrapped` and sets
    `erased_at` (consent.services.erase_private_reasons), and the sealed reasons in the ledger
    can never be opened again. A person has at most one live key; after an erasure a new
    reason gets a new key.
    """

    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    wrapped = models.BinaryField(blank=True)
    master_key_id = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subject"],
                condition=models.Q(erased_at__isnull=True),
                name="consent_one_live_key_per_subject",
            )
        ]

    def __str__(self):
        state = f"erased {self.erased_at:%Y-%m-%d}" if self.erased_at else "live"
        return f"data key {self.pk} of {self.subject_id} ({state})"


class LedgerEpoch(models.Model):
    """A change of the chain's format: the head before and after re-chaining every record.

    A checkpoint or receipt issued before the change names a hash of the old format; this row
    (and each record's `legacy_hash`) explains how it became the new one. Only inserted: a
    database trigger refuses UPDATE and DELETE.
    """

    format = models.PositiveSmallIntegerField()
    previous_format = models.PositiveSmallIntegerField()
    records = models.PositiveBigIntegerField()
    old_head_hash = models.CharField(max_length=64)
    new_head_hash = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"ledger format {self.previous_format} -> {self.format} at {self.at:%Y-%m-%d}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise LedgerImmutableError("ledger epochs are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerImmutableError("ledger epochs are append-only")


class TermsDocument(models.Model):
    """The exact words a person was shown before deciding, stored once by their sha256.

    `body` is the canonical JSON of the rendered document (sorted keys, no spaces), and
    `sha256` is the hash of exactly that text, so anyone can re-hash the body and get the key.
    A ledger record's `terms_sha256` names the document the person read; pages render from
    the document, never from live rows, so editing a campaign or a team later changes
    nothing already shown. A translation rendered from the same document for a reader of
    another language is its own document (`translation_of` names the original), because what
    was read in German must be provable in German. Rows are only inserted: a database trigger
    refuses UPDATE and DELETE.
    """

    sha256 = models.CharField(max_length=64, primary_key=True)
    language = models.CharField(max_length=10)
    body = models.TextField()
    translation_of = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"terms {self.sha256[:12]} ({self.language})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise LedgerImmutableError("terms documents are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerImmutableError("terms documents are never deleted")

    @property
    def content(self) -> dict:
        return json.loads(self.body)


class AccessLogEntry(models.Model):
    """Someone read another person's consent data: who, whose, when, where and why.

    Every read of an identifiable person's decisions by someone else writes one (invariant 6),
    through `consent.access.record_read`, and the person can see their own entries. Rows are
    only inserted: a database trigger refuses UPDATE and DELETE, like the ledger's.
    """

    class Channel(models.TextChoices):
        WEB = "web", _("Web page")
        API = "api", _("API")
        EXPORT = "export", _("Export")
        # A notice (in the app and by email) that told someone else of the person's decision.
        NOTICE = "notice", _("Notice")
        # A signed webhook that carried the person's decision to another system.
        WEBHOOK = "webhook", _("Webhook")

    viewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_log_entries"
    )
    at = models.DateTimeField(default=timezone.now)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.WEB)
    # The page's path (with its query) or the endpoint's name: where the data was shown.
    page = models.CharField(max_length=500)
    purpose = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["subject", "at"], name="access_log_subject_at_idx")]
        verbose_name_plural = "access log entries"

    def __str__(self):
        return f"{self.viewer_id} read {self.subject_id} at {self.at:%Y-%m-%d %H:%M} ({self.page})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise LedgerImmutableError("access log entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerImmutableError("access log entries are append-only")
