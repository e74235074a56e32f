"""The log of a person's own exports of their data.

The access log (consent.AccessLogEntry) answers "who else looked at my records?", and
consent.access writes nothing when people read their own data. An export is different: it is
the one read that takes all of a person's data out of the portal in one file, so the issue asks
for it to be logged too. It gets its own record here, rather than an access-log entry with the
person as their own viewer, so that every access-log entry keeps meaning "someone else read
this" (HR's and the API's reads stay countable as such) and consent.access keeps its one rule.
The privacy centre shows these rows beside the access log, and each export contains every
earlier export and itself. Rows are only inserted: a database trigger refuses UPDATE and DELETE.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ExportLogImmutableError(Exception):
    """Raised when code tries to change or delete a logged export."""


class DataExport(models.Model):
    """The person downloaded everything the portal holds about them, at `at`."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="data_exports"
    )
    at = models.DateTimeField(default=timezone.now)
    # Where the file was taken from, so the person can tell a download of theirs from one
    # they do not recognise (a stolen session): the same facts the ledger keeps for decisions.
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["person", "at"], name="privacy_export_person_at_idx")]
        verbose_name = _("export of one's own data")

    def __str__(self):
        return f"{self.person_id} exported their data at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ExportLogImmutableError("logged exports are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ExportLogImmutableError("logged exports are append-only")
