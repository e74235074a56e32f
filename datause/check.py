"""The consent check: may a collector take this person's data for this purpose, right now?

Allowed only when the person's newest ledger record about the *newest published version* of the
purpose is an opt-in younger than the purpose's validity period. Everything else is not allowed:
no record (everyone starts at no), an opt-out or withdrawal, an opt-in to an earlier version (a
new version's `about_id` is new, so old records simply are not about it), or a lapsed opt-in
(computed here from `recorded_at`, so no job has to run for a lapse to count).

Every check reads the database (no cache yet), so a withdrawal is in effect for every process
the moment it commits. `check_many` answers up to `BATCH_LIMIT` pairs in three queries
whatever their number: employees, purposes, and the newest record per (person, purpose).
"""

import calendar
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Max, Subquery
from django.utils import timezone

from consent.models import ConsentRecord
from datause.models import DataUsePurpose
from people.models import Employee

DATA_USE = "data_use"  # the ledger's about_kind for data-use decisions
BATCH_LIMIT = 1000


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus whole calendar months (the 31st becomes the month's last day)."""
    month0 = moment.month - 1 + months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    return moment.replace(
        year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1])
    )


def answer(purpose: DataUsePurpose, record: ConsentRecord | None, now: datetime) -> dict:
    """What the check says for one person's newest record about `purpose` (or none)."""
    if record is None:
        return {
            "allowed": False,
            "purpose_version": purpose.version,
            "record_id": None,
            "decided_at": None,
            "valid_until": None,
        }
    valid_until = None
    allowed = False
    if record.action == ConsentRecord.Action.OPT_IN:
        valid_until = add_months(record.recorded_at, purpose.validity_months)
        allowed = now < valid_until
    return {
        "allowed": allowed,
        "purpose_version": purpose.version,
        "record_id": record.pk,
        "decided_at": record.recorded_at,
        "valid_until": valid_until,
    }


@dataclass
class Resolved:
    answers: list[dict | None]
    unknown_employees: set[str] = field(default_factory=set)
    unknown_purposes: set[str] = field(default_factory=set)
    subject_ids: dict[str, int] = field(default_factory=dict)  # external id -> user id


def resolve(pairs: list[tuple[str, str]], *, now: datetime | None = None) -> Resolved:
    """Answer every (employee external id, purpose slug) pair in at most three queries."""
    now = now or timezone.now()
    external_ids = {e for e, _ in pairs}
    slugs = {s for _, s in pairs}
    # 1. the people
    users = dict(
        Employee.objects.filter(external_id__in=external_ids).values_list("external_id", "user_id")
    )
    # 2. the purposes: the newest published version of each slug wins
    purposes: dict[str, DataUsePurpose] = {}
    for p in (
        DataUsePurpose.objects.filter(slug__in=slugs, published_at__isnull=False)
        .only("slug", "version", "validity_months")
        .order_by("slug", "-version")
    ):
        purposes.setdefault(p.slug, p)
    # 3. the newest record per (person, purpose version), in one statement
    records: dict[tuple[int, str], ConsentRecord] = {}
    if users and purposes:
        newest = (
            ConsentRecord.objects.filter(
                about_kind=DATA_USE,
                subject_id__in=set(users.values()),
                about_id__in={p.about_id for p in purposes.values()},
            )
            .values("subject_id", "about_id")
            .annotate(last=Max("id"))
            .values("last")
        )
        for r in ConsentRecord.objects.filter(id__in=Subquery(newest)).only(
            "id", "subject_id", "about_id", "action", "recorded_at"
        ):
            records[(r.subject_id, r.about_id)] = r
    resolved = Resolved(answers=[], subject_ids=users)
    for external_id, slug in pairs:
        user_id, purpose = users.get(external_id), purposes.get(slug)
        if user_id is None:
            resolved.unknown_employees.add(external_id)
        if purpose is None:
            resolved.unknown_purposes.add(slug)
        if user_id is None or purpose is None:
            resolved.answers.append(None)
            continue
        resolved.answers.append(answer(purpose, records.get((user_id, purpose.about_id)), now))
    return resolved


def check_many(pairs: list[tuple[str, str]]) -> list[dict | None]:
    """One answer per pair, in order; None where the employee or the purpose is unknown."""
    return resolve(list(pairs)).answers


def check(employee_external_id: str, purpose_slug: str) -> dict | None:
    return check_many([(employee_external_id, purpose_slug)])[0]
