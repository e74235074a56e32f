"""Data-use purposes: what may be collected from people's work, why, and for how long.

A purpose is a versioned description (slug + version). Its words are a stored terms document
(`datause.terms`), pinned by sha256 on every ledger record about it, so what a person agreed to
stays provable after the purpose changes. Changing what is collected means a new version (a new
row), and a decision about version 1 never counts for version 2: the ledger's `about_id` is
`<slug>:v<version>`. Choices themselves live only in the ledger, never here.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from people.models import Employee


class Category(models.TextChoices):
    KEYSTROKES = "keystrokes", _("Keystrokes")
    SCREENSHOTS = "screenshots", _("Screenshots")
    CLICKS = "clicks", _("Mouse clicks and movements")
    APP_USAGE = "app_usage", _("Which applications you use, and for how long")
    BROWSING = "browsing", _("Web pages you visit")
    AUDIO = "audio", _("Audio from meetings and calls")
    CODE = "code", _("Code and text you write")


class DataUsePurpose(models.Model):
    class ApproverKind(models.TextChoices):
        DPO = "dpo", _("Data-protection officer")
        WORKS_COUNCIL = "works_council", _("Works council")

    slug = models.SlugField(max_length=80)
    version = models.PositiveIntegerField(default=1)
    title = models.CharField(max_length=200)
    categories = models.JSONField(default=list, help_text="Category codes, e.g. keystrokes.")
    why = models.TextField(help_text="Why the data is collected, in plain words.")
    retention = models.CharField(max_length=200, help_text="How long the data is kept.")
    access = models.TextField(help_text="Who may access the collected data.")
    collecting_system = models.CharField(max_length=200)
    validity_months = models.PositiveSmallIntegerField(default=12)
    # Nobody publishes a purpose anonymously: a named person answers for it ...
    owner = models.ForeignKey(
        Employee, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # ... and a data-protection officer or the works council approved it, on record.
    approver_kind = models.CharField(max_length=20, choices=ApproverKind.choices, blank=True)
    approved_on = models.DateField(null=True, blank=True)
    approval_reference = models.CharField(max_length=200, blank=True)
    # Where consent.changed goes: the collecting system's own webhook endpoints, and no other
    # (another collector has no business learning who allowed this purpose).
    webhook_endpoints = models.ManyToManyField(
        "webhooks.WebhookEndpoint", blank=True, related_name="+"
    )
    # The document issued at publication (site language); translations name it.
    terms_sha256 = models.CharField(max_length=64, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["slug", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["slug", "version"], name="datause_slug_version_uniq"),
            # The service refuses first; this is the guarantee for any other path.
            models.CheckConstraint(
                condition=Q(published_at__isnull=True)
                | (
                    Q(owner__isnull=False, approved_on__isnull=False)
                    & ~Q(approver_kind="")
                    & ~Q(approval_reference="")
                    & ~Q(terms_sha256="")
                ),
                name="datause_published_needs_owner_and_approval",
            ),
        ]

    def __str__(self):
        return f"{self.title} (v{self.version})"

    @property
    def about_id(self) -> str:
        """What ledger records about this version are about."""
        return f"{self.slug}:v{self.version}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def category_labels(self) -> list[str]:
        labels = dict(Category.choices)
        return [str(labels.get(code, code)) for code in self.categories]


class ConsentCheckLog(models.Model):
    """How often a collector's key asked about a person and a purpose, per day (UTC).

    The consent check is logged without a write per check (datause.checklog): each web process
    appends a line to its spool file before it answers, and a flusher adds the day's counts
    here. The first check of a (key, person, purpose version, day) also writes one access-log
    entry, so the person sees it in their access log with everything else.
    """

    api_key = models.ForeignKey("api.ApiKey", on_delete=models.PROTECT, related_name="+")
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    purpose_slug = models.SlugField(max_length=80)
    purpose_version = models.PositiveIntegerField()
    day = models.DateField()
    checks = models.PositiveBigIntegerField(default=0)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "subject", "purpose_slug", "purpose_version", "day"],
                name="datause_check_log_per_day",
            )
        ]
        indexes = [models.Index(fields=["subject", "day"], name="datause_check_log_subject")]

    def __str__(self):
        return f"key {self.api_key_id} checked {self.subject_id} {self.checks}x on {self.day}"


class CheckLogSpool(models.Model):
    """How much of one process' spool file is already counted: a flush that is repeated after
    a crash starts where the last committed one ended, so no line is counted twice."""

    name = models.CharField(max_length=200, unique=True)
    applied_bytes = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.name} @{self.applied_bytes}"
