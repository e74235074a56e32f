"""Teams and the people in them: the records every workflow reads, and none owns.

The tables keep their first names (`assignments_team`, `assignments_employee`): the database
guards written against them (no team change without a Move) stay valid, and moving the models
here changed no row.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Team(models.Model):
    class Kind(models.TextChoices):
        REGULAR = "regular", _("Regular team")
        AI_INITIATIVE = "ai_initiative", _("AI initiative")

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.REGULAR)
    headcount_target = models.PositiveIntegerField(default=0)
    # What the team does, in plain words: people choosing a team (after an undraft) read it.
    description = models.TextField(blank=True, default="")
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)

    class Meta:
        db_table = "assignments_team"
        ordering = ["name"]

    def __str__(self):
        return self.name


class Employee(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="employee"
    )
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    name = models.CharField(max_length=200)
    email = models.EmailField(unique=True)
    title = models.CharField(max_length=200, blank=True)
    # Changed only by a Move or an audited administrative TeamChange between regular teams
    # (enforced by database triggers: assignments/migrations/0002, people/migrations/0004).
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="members"
    )
    manager = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reports"
    )
    is_active = models.BooleanField(default=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    # The language the person reads the portal and its emails in; blank means the site's
    # default (settings.LANGUAGE_CODE). Terms are rendered and hashed in the language shown.
    language = models.CharField(max_length=10, blank=True)
    # Set while the person is on leave. Only people.services.start_leave / end_leave change it;
    # what leave means for a response window is the workflows' rule (assignments.services.leave).
    on_leave_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "assignments_employee"
        ordering = ["name"]
        indexes = [
            models.Index(fields=["manager"], name="employee_manager_idx"),
            # SCIM and single sign-on match addresses case-insensitively (email__iexact).
            models.Index(Upper("email"), name="employee_email_upper_idx"),
        ]

    def __str__(self):
        return self.name

    @property
    def on_leave(self) -> bool:
        return self.on_leave_since is not None


class TeamChange(models.Model):
    """An administrative change of someone's team, made by the HRIS (or an administrator).

    The only team change that is not a consented Move, so it is audited: who, when, from which
    client. It never enters or leaves an AI-initiative team (that takes the person's own opt-in
    or undraft). Rows are only inserted (`people.services.change_team_administratively`); the
    database refuses UPDATE and DELETE, and accepts a change of `Employee.team` only when the
    latest Move or the latest of these rows backs it (people/migrations/0004).
    """

    employee = models.ForeignKey(Employee, on_delete=models.PROTECT, related_name="team_changes")
    from_team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    # Who: the API key's service account, or the administrator's own account.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    client_name = models.CharField(max_length=200)  # "Workday sync", or "admin"
    api_key = models.ForeignKey(
        "api.ApiKey", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The person's latest Move when this change was recorded. The database accepts this row
    # as the backing of a team change only while no Move came after it, and a Move only while
    # no such row came after it: an old Move or change can never be replayed.
    latest_move_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["employee", "id"], name="teamchange_employee_idx")]

    def __str__(self):
        return f"{self.employee}: {self.from_team or '-'} -> {self.to_team or '-'}"


class ScimRecord(models.Model):
    """What the HRIS sent over SCIM for a person or a team beyond the portal's own columns.

    The portal's columns stay the truth for what it uses (name, email, title, team, manager,
    active, employee number; a team's name, members, external id). Everything else a SCIM
    client wrote (nickName, phone numbers, addresses, ...) is kept here verbatim so that it
    reads back as written, with the resource's SCIM timestamps. A SCIM DELETE only stamps
    `deleted_at`: the person (or team) and every ledger row about them stay, and the resource
    answers 404 from then on.
    """

    employee = models.OneToOneField(
        Employee, on_delete=models.PROTECT, null=True, blank=True, related_name="scim"
    )
    team = models.OneToOneField(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="scim"
    )
    attributes = models.JSONField(default=dict, blank=True)
    # userName folded to lower case: unique, so two SCIM requests that differ only by case
    # cannot both create a person, whatever the timing.
    user_name_key = models.CharField(max_length=150, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(employee__isnull=False, team__isnull=True)
                | models.Q(employee__isnull=True, team__isnull=False),
                name="scimrecord_person_or_team",
            )
        ]
        indexes = [
            # Every Users query asks whether a person was deleted over SCIM (an anti-join);
            # the few who were are found here, not among every record.
            models.Index(
                fields=["employee"],
                condition=models.Q(deleted_at__isnull=False, employee__isnull=False),
                name="scimrecord_deleted_person_idx",
            )
        ]

    def __str__(self):
        return f"SCIM record of {self.employee or self.team}"


class ScimTally(models.Model):
    """How many people SCIM serves (every employee but those a SCIM DELETE removed), per
    block of 1,024 employee ids: `totalResults` is their sum and a page's start is found by
    adding blocks up instead of skipping every earlier row (people/scim/query.py).

    PostgreSQL only, kept exact by triggers on the employees and their SCIM records in the
    writing transaction itself (people/migrations/0008): a reader's snapshot sees the counts
    of exactly the rows it sees. A writer adds to these rows only if it gets the tally's
    advisory lock without waiting; otherwise it appends a `ScimTallyDelta`, which the next
    writer holding the lock folds in. So concurrent writers never wait for each other.
    """

    block = models.BigIntegerField(primary_key=True)  # employee id >> 10
    served = models.BigIntegerField(default=0)

    def __str__(self):
        return f"ids {self.block << 10}-{((self.block + 1) << 10) - 1}: {self.served} served"


class ScimTallyDelta(models.Model):
    """A change to a block's count not yet folded into `ScimTally` (see there)."""

    block = models.BigIntegerField()
    served = models.BigIntegerField()

    def __str__(self):
        return f"ids from {self.block << 10}: {self.served:+d}"
