"""The access log's only writer: every read of a person's consent data by someone else.

Pages and endpoints that show an identifiable person's decisions to anyone but that person
call `record_read` (or `record_reads` for a list) with the viewer, whose data it was and
where it was shown. Reading one's own data is not logged: the log answers "who looked at my
records?", and the person knows when they looked. Entries are only inserted (a database
trigger refuses UPDATE and DELETE) and always on the primary database, even when the page
that shows the data reads from a replica (reports.routers sends every write to the primary).
"""

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from consent.models import AccessLogEntry
from portal import copying

PAGE_MAX = AccessLogEntry._meta.get_field("page").max_length


def record_reads(
    *,
    viewer,
    subjects: Iterable,
    page: str,
    purpose: str = "",
    channel: str = AccessLogEntry.Channel.WEB,
    at: datetime | None = None,
) -> list[AccessLogEntry]:
    """One entry per person shown (users or user ids), in one INSERT; none for the viewer
    (a user or a user id)."""
    at = at or timezone.now()
    viewer_id = getattr(viewer, "pk", viewer)
    page = page[:PAGE_MAX]
    subject_ids = dict.fromkeys(getattr(s, "pk", s) for s in subjects)
    entries = [
        AccessLogEntry(
            viewer_id=viewer_id,
            subject_id=subject_id,
            at=at,
            channel=channel,
            page=page,
            purpose=purpose.strip(),
        )
        for subject_id in subject_ids
        if subject_id != viewer_id
    ]
    return AccessLogEntry.objects.bulk_create(entries) if entries else []


def record_pairs(
    pairs: Iterable[tuple[int, int]],
    *,
    page: str,
    purpose: str = "",
    channel: str = AccessLogEntry.Channel.NOTICE,
    at: datetime | None = None,
) -> int:
    """One entry per (viewer id, subject id) pair, in one statement: many people each told of
    someone else's decision (the expiry sweep tells every proposer of theirs, thousands at
    once, so on PostgreSQL they are copied in). Returns how many entries were written."""
    at = at or timezone.now()
    page, purpose = page[:PAGE_MAX], purpose.strip()
    pairs = [(viewer, subject) for viewer, subject in dict.fromkeys(pairs) if viewer != subject]
    if copying.available():
        return copying.copy_rows(
            AccessLogEntry,
            ("viewer_id", "subject_id", "at", "channel", "page", "purpose"),
            ((viewer, subject, at, channel, page, purpose) for viewer, subject in pairs),
        )
    entries = [
        AccessLogEntry(
            viewer_id=viewer, subject_id=subject, at=at, channel=channel, page=page, purpose=purpose
        )
        for viewer, subject in pairs
    ]
    return len(AccessLogEntry.objects.bulk_create(entries))


def record_read(
    *,
    viewer,
    subject,
    page: str,
    purpose: str = "",
    channel: str = AccessLogEntry.Channel.WEB,
    at: datetime | None = None,
) -> AccessLogEntry | None:
    """Log that `viewer` saw `subject`'s consent data on `page`; None when they are the same."""
    entries = record_reads(
        viewer=viewer, subjects=[subject], page=page, purpose=purpose, channel=channel, at=at
    )
    return entries[0] if entries else None


def reads_of(subject):
    """A person's own access log, newest first: who looked, where and when."""
    return (
        AccessLogEntry.objects.filter(subject=subject)
        .select_related("viewer")
        .order_by("-at", "-id")
    )
