"""Teams and the people in them: the records every workflow reads, and none owns.

The tables keep their first names (`assignments_team`, `assignments_employee`): the database
guards written against them (no team change without a Move) stay valid, and moving the models
here changed no row.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Team(models.Model):
    class Kind(models.TextChoices):
        REGULAR = "regular", _("Regular team")
        AI_INITIATIVE = "ai_initiative", _("AI initiative")

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.REGULAR)
    headcount_target = models.PositiveIntegerField(default=0)
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
    # Changed only by a Move (enforced by a database trigger, see assignments' migrations).
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
        indexes = [models.Index(fields=["manager"], name="employee_manager_idx")]

    def __str__(self):
        return self.name

    @property
    def on_leave(self) -> bool:
        return self.on_leave_since is not None
