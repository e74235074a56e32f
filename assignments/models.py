"""Campaigns and the consent-gated proposals that may move people between teams.

The proposal state machine lives in `assignments.services`; these models only hold state.
Database constraints and triggers (see migrations) back the rules that matter most, so that
no code path, raw SQL included, can move a person without their live opt-in.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from people.models import Employee, Team


class Campaign(models.Model):
    """An HR-run drive, e.g. "Applied AI task force", with an honest description of the work.

    A campaign is prepared as a draft (its words, its audience), previewed, and sent once:
    `assignments.services.campaigns` claims it with a conditional UPDATE, so a double click or
    a redelivered task cannot send it twice. It cannot leave the draft state without a named
    accountable owner and a reference to its impact assessment or works-council consultation
    (also a database constraint). New columns carry database defaults, so rows inserted
    without them (the bench seeder's COPY) are valid drafts.
    """

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        QUEUED = "queued", _("Sending")
        SENT = "sent", _("Sent")

    class Assessment(models.TextChoices):
        IMPACT_ASSESSMENT = "impact_assessment", _("Impact assessment")
        WORKS_COUNCIL = "works_council", _("Works-council consultation")

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(help_text=_("What the work really is, in plain words."))
    data_labelling_percent = models.PositiveSmallIntegerField(
        default=0, help_text=_("Share of the work that is data labelling, 0-100.")
    )
    target_teams = models.ManyToManyField(Team, related_name="campaigns", blank=True)
    response_working_days = models.PositiveSmallIntegerField(default=10)
    terms_version = models.CharField(max_length=40, default="1")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The role in plain words and its start date: with the description, the terms each
    # person reads (rendered and hashed per person when sent, assignments.terms).
    role_description = models.TextField(
        blank=True,
        default="",
        db_default="",
        help_text=_("What each person would do, in plain words."),
    )
    start_date = models.DateField(null=True, blank=True)
    # Who answers for the drive, and the assessment it rests on. Both, or it cannot be sent.
    accountable_owner = models.CharField(max_length=200, blank=True, default="", db_default="")
    assessment_kind = models.CharField(
        max_length=30, choices=Assessment.choices, blank=True, default="", db_default=""
    )
    assessment_reference = models.CharField(max_length=300, blank=True, default="", db_default="")
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.DRAFT, db_default=State.DRAFT
    )
    # The people it goes to, frozen when HR chooses them: [[employee id, destination team id]].
    audience = models.JSONField(null=True, blank=True)
    audience_label = models.CharField(max_length=300, blank=True, default="", db_default="")
    # Why the last send was refused (per person), shown on the campaign page; empty when fine.
    send_errors = models.JSONField(null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(data_labelling_percent__lte=100), name="campaign_labelling_percent"
            ),
            models.CheckConstraint(
                condition=Q(state="draft")
                | (~Q(accountable_owner="") & ~Q(assessment_reference="")),
                name="campaign_sent_with_accountability",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_accountable(self) -> bool:
        return bool(self.accountable_owner.strip() and self.assessment_reference.strip())


class Proposal(models.Model):
    class Kind(models.TextChoices):
        TRANSFER = "transfer", _("Transfer")
        PLACEMENT_OFFER = "placement_offer", _("Placement offer")
        RETROACTIVE = "retroactive", _("Retroactive confirmation")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for your answer")
        OPTED_IN = "opted_in", _("Opted in")
        EFFECTIVE = "effective", _("In effect")
        OPTED_OUT = "opted_out", _("Opted out")
        EXPIRED = "expired", _("Expired without an answer")
        WITHDRAWN = "withdrawn", _("Withdrawn by the proposer")

    class PayBandChange(models.TextChoices):
        NONE = "none", _("No change")
        UP = "up", _("Higher pay band")
        DOWN = "down", _("Lower pay band")

    OPEN_STATES = (State.PENDING, State.OPTED_IN)
    TERMINAL_STATES = (State.EFFECTIVE, State.OPTED_OUT, State.EXPIRED, State.WITHDRAWN)

    employee = models.ForeignKey(Employee, on_delete=models.PROTECT, related_name="proposals")
    # Snapshot of the employee's team when proposed, shown in the terms.
    from_team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="incoming_proposals")
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proposals_made"
    )
    # The person's account when the proposal was made, recorded by the database on every
    # insert and never changed (assignments/migrations/0008): only that account may decide,
    # and the move guard binds to it, whatever the employee's account link says later.
    subject_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        db_index=False,
        related_name="+",
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, null=True, blank=True, related_name="proposals"
    )
    placement_request = models.ForeignKey(
        "PlacementRequest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="offers",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TRANSFER)
    role_description = models.TextField()
    data_labelling_percent = models.PositiveSmallIntegerField(default=0)
    start_date = models.DateField()
    response_deadline = models.DateTimeField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    terms_version = models.CharField(max_length=40, default="1")
    terms_sha256 = models.CharField(max_length=64)
    # Structured facts people compare offers by; part of the hashed terms (format 3 on).
    # Empty means "not stated" (proposals made before these facts existed).
    grade = models.CharField(max_length=60, blank=True, default="")
    pay_band_change = models.CharField(
        max_length=10, choices=PayBandChange.choices, blank=True, default=""
    )
    location = models.CharField(max_length=120, blank=True, default="")
    new_manager = models.CharField(max_length=200, blank=True, default="")
    expected_duration = models.CharField(max_length=120, blank=True, default="")
    contact_name = models.CharField(max_length=200, blank=True, default="")
    contact_email = models.EmailField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["employee", "state"], name="proposal_employee_state_idx"),
            models.Index(fields=["state", "response_deadline"], name="proposal_deadline_idx"),
            models.Index(fields=["state", "start_date"], name="proposal_start_idx"),
            models.Index(fields=["proposed_by", "state"], name="proposal_proposer_idx"),
            models.Index(fields=["campaign", "state"], name="proposal_campaign_idx"),
            # Each person's latest answer to a campaign, in order and index-only (the "no
            # adverse consequence" dashboard, reports.selectors.outcomes_by_answer_sql).
            models.Index(
                fields=["employee", "-decided_at", "-id"],
                include=["state", "kind"],
                condition=Q(
                    campaign__isnull=False,
                    decided_at__isnull=False,
                    state__in=["opted_in", "effective", "opted_out"],
                ),
                name="proposal_latest_answer_idx",
            ),
        ]
        constraints = [
            # One open proposal per employee and destination team.
            models.UniqueConstraint(
                fields=["employee", "to_team"],
                condition=Q(state__in=["pending", "opted_in"]),
                name="one_open_proposal_per_employee_and_team",
            ),
            # A person can have accepted at most one move that has not happened yet.
            models.UniqueConstraint(
                fields=["employee"],
                condition=Q(state="opted_in"),
                name="one_accepted_move_per_employee",
            ),
            models.CheckConstraint(
                condition=~Q(from_team=models.F("to_team")) | Q(kind="retroactive"),
                name="proposal_changes_team",
            ),
            models.CheckConstraint(
                condition=Q(data_labelling_percent__lte=100), name="proposal_labelling_percent"
            ),
            models.CheckConstraint(
                condition=Q(
                    state__in=[
                        "pending",
                        "opted_in",
                        "effective",
                        "opted_out",
                        "expired",
                        "withdrawn",
                    ]
                ),
                name="proposal_state_valid",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.employee} to {self.to_team}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES


class ProposalEvent(models.Model):
    """Audit trail of everything that happened to a proposal, decisions included."""

    class Kind(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        OPTED_IN = "opted_in", _("Opted in")
        OPTED_OUT = "opted_out", _("Opted out")
        CONSENT_WITHDRAWN = "consent_withdrawn", _("Consent withdrawn")
        EXPIRED = "expired", _("Expired")
        WITHDRAWN = "withdrawn", _("Withdrawn by proposer")
        EXTENDED = "extended", _("Deadline extended")
        MOVED = "moved", _("Move took effect")
        UNDRAFTED = "undrafted", _("Undrafted")

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"


class Move(models.Model):
    """An applied change of team. It must point at the employee's live opt-in record."""

    proposal = models.OneToOneField(Proposal, on_delete=models.PROTECT, related_name="move")
    employee = models.ForeignKey(Employee, on_delete=models.PROTECT, related_name="moves")
    from_team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    opt_in_record = models.OneToOneField(
        "consent.ConsentRecord", on_delete=models.PROTECT, related_name="move"
    )
    effective_date = models.DateField()
    applied_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-applied_at", "-id"]

    def __str__(self):
        return f"{self.employee} -> {self.to_team} on {self.effective_date}"


class PlacementRequest(models.Model):
    """A person who said no (or undrafted) asks to be placed elsewhere, ahead of others."""

    class Priority(models.IntegerChoices):
        NORMAL = 0, _("Normal")
        PREFERENTIAL = 10, _("Preferential")

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        OFFERED = "offered", _("Offer made")
        FILLED = "filled", _("Placed")
        CANCELLED = "cancelled", _("Cancelled")

    employee = models.ForeignKey(
        Employee, on_delete=models.PROTECT, related_name="placement_requests"
    )
    source_proposal = models.ForeignKey(
        Proposal, on_delete=models.PROTECT, related_name="placement_requests_opened"
    )
    priority = models.IntegerField(choices=Priority.choices, default=Priority.PREFERENTIAL)
    state = models.CharField(max_length=20, choices=State.choices, default=State.OPEN)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-priority", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["employee"],
                condition=Q(state__in=["open", "offered"]),
                name="one_open_placement_request_per_employee",
            )
        ]

    def __str__(self):
        return f"Placement for {self.employee} ({self.get_state_display()})"


class PlacementPreference(models.Model):
    request = models.ForeignKey(
        PlacementRequest, on_delete=models.CASCADE, related_name="preferences"
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    rank = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.UniqueConstraint(fields=["request", "rank"], name="preference_rank_unique"),
            models.UniqueConstraint(fields=["request", "team"], name="preference_team_unique"),
        ]

    def __str__(self):
        return f"{self.rank}. {self.team_id}"
