"""The single consent check, answered from this process' cache (api.coherence).

Three kinds of entries, each tagged with what invalidates it:

- ("e", external id) -> the person's user id; tags e:<external id>, u:<user id>
- ("p", slug) -> the newest published version of the slug; tag p:<slug>
- ("r", user id, about id) -> the newest ledger record about it, or None; tag u:<user id>

Writers invalidate before they commit: `_decide` (every opt-in, opt-out, withdrawal) calls
`invalidate_person`, `publish_purpose` calls `invalidate_purpose`, and a change of an
employee's external id (or their removal) invalidates through a model guard. A record entry
keeps `valid_until`, and whether it allows is worked out against the clock on every check, so a
lapse needs no invalidation. Unknown employees and purposes are not cached (a 404 reads the
database each time): guessing fills no memory, and a new hire is known at once.

On a miss the answer is one SQL statement (PostgreSQL; other databases use `check.resolve`).
"""

import time
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.utils import timezone

from api import coherence, prepared
from api.coherence import MISSING
from consent.models import ConsentRecord
from datause import check
from datause.models import DataUsePurpose
from people.models import Employee

OPT_IN = ConsentRecord.Action.OPT_IN.value


def person_tag(user_id) -> str:
    return f"u:{user_id}"


def purpose_tag(slug: str) -> str:
    return f"p:{slug}"


def employee_tag(external_id: str) -> str:
    return f"e:{external_id}"


def invalidate_person(user_id) -> None:
    """Inside the transaction that records a person's data-use decision, before it commits."""
    coherence.invalidate_before_commit([person_tag(user_id)])


def invalidate_purpose(slug: str) -> None:
    """Inside the transaction that publishes a version of `slug`, before it commits."""
    coherence.invalidate_before_commit([purpose_tag(slug)])


@dataclass(frozen=True, slots=True)
class Purpose:
    version: int
    validity_months: int
    about_id: str


@dataclass(frozen=True, slots=True)
class Record:
    id: int
    allows_until: float  # epoch seconds; 0 when the record is not an opt-in
    decided_at: str
    valid_until: str | None


def _iso(moment: datetime) -> str:
    """As DRF writes a DateTimeField (the batch answers and the schema say the same)."""
    text = timezone.localtime(moment).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _record(purpose: Purpose, record_id, action, recorded_at) -> Record | None:
    if record_id is None:
        return None
    if action != OPT_IN:
        return Record(record_id, 0.0, _iso(recorded_at), None)
    until = check.add_months(recorded_at, purpose.validity_months)
    return Record(record_id, until.timestamp(), _iso(recorded_at), _iso(until))


@dataclass(frozen=True, slots=True)
class Answer:
    """One check's outcome: the person's user id (for the log) and the body's fields, or which
    of the two is unknown."""

    user_id: int | None
    purpose: Purpose | None
    record: Record | None

    def body(self, employee: str, slug: str, now: float) -> dict:
        record = self.record
        return {
            "employee": employee,
            "purpose": slug,
            "allowed": record is not None and now < record.allows_until,
            "purpose_version": self.purpose.version,
            "record_id": record.id if record else None,
            "decided_at": record.decided_at if record else None,
            "valid_until": record.valid_until if record else None,
        }


_SQL = None


def _statement() -> str:
    """Person, newest published version and newest record about it, in one round trip.
    Table and column names come from the models, so a ledger migration keeps this right.

    The record is found among the person's own records, newest first (index subject, id):
    `|| ''` keeps the planner off the (about_kind, about_id, id) index, which would walk
    everyone's records about the purpose to find this person's."""
    global _SQL
    if _SQL is None:
        employee, purpose, record = Employee._meta, DataUsePurpose._meta, ConsentRecord._meta

        def col(meta, name):
            return meta.get_field(name).column

        _SQL = f"""
            SELECT e.uid, p.version, p.validity_months, r.id, r.action, r.recorded_at
            FROM (SELECT 1) AS one
            LEFT JOIN LATERAL (
                SELECT {col(employee, "user")} AS uid FROM {employee.db_table}
                WHERE {col(employee, "external_id")} = %(employee)s::text
            ) e ON TRUE
            LEFT JOIN LATERAL (
                SELECT {col(purpose, "version")} AS version,
                       {col(purpose, "validity_months")} AS validity_months
                FROM {purpose.db_table}
                WHERE {col(purpose, "slug")} = %(slug)s::text
                  AND {col(purpose, "published_at")} IS NOT NULL
                ORDER BY {col(purpose, "version")} DESC LIMIT 1
            ) p ON TRUE
            LEFT JOIN LATERAL (
                SELECT {col(record, "id")} AS id, {col(record, "action")} AS action,
                       {col(record, "recorded_at")} AS recorded_at
                FROM {record.db_table}
                WHERE {col(record, "subject")} = e.uid
                  AND ({col(record, "about_kind")} || '') = %(kind)s::text
                  AND ({col(record, "about_id")} || '') = %(slug)s::text || ':v' || p.version
                ORDER BY {col(record, "id")} DESC LIMIT 1
            ) r ON TRUE
        """
    return _SQL


def _read(employee: str, slug: str) -> tuple[int | None, Purpose | None, tuple]:
    if connection.vendor == "postgresql":
        params = {"employee": employee, "slug": slug, "kind": check.DATA_USE}
        uid, version, validity, record_id, action, recorded_at = prepared.fetchone(
            _statement(), params
        )
        purpose = Purpose(version, validity, f"{slug}:v{version}") if version is not None else None
        return uid, purpose, (record_id, action, recorded_at)
    # Elsewhere (SQLite in the embedded `make run`) the batch path's three queries do it.
    resolved = check.resolve([(employee, slug)])
    uid = resolved.subject_ids.get(employee)
    found = resolved.answers[0]
    if found is None:
        purposes = DataUsePurpose.objects.filter(slug=slug, published_at__isnull=False)
        newest = purposes.order_by("-version").first()
        purpose = newest and Purpose(newest.version, newest.validity_months, newest.about_id)
        return uid, purpose, (None, None, None)
    newest = DataUsePurpose.objects.filter(slug=slug, version=found["purpose_version"]).get()
    purpose = Purpose(newest.version, newest.validity_months, newest.about_id)
    record_id = found["record_id"]
    if record_id is None:
        return uid, purpose, (None, None, None)
    record = ConsentRecord.objects.only("action", "recorded_at").get(pk=record_id)
    return uid, purpose, (record_id, record.action, record.recorded_at)


_MANY_SQL = None


def _many_statement() -> str:
    """Every pair of a batch in one statement: the pairs travel as two arrays (two parameters,
    not thousands), and each row is resolved exactly as `_statement` resolves one."""
    global _MANY_SQL
    if _MANY_SQL is None:
        one = _statement()
        select, rest = one.split("FROM (SELECT 1) AS one", 1)
        rest = rest.replace("%(employee)s::text", "pairs.employee")
        rest = rest.replace("%(slug)s::text", "pairs.slug")
        _MANY_SQL = (
            select.replace("SELECT e.uid", "SELECT pairs.n, e.uid")
            + "FROM unnest(%(employees)s::text[], %(slugs)s::text[]) WITH ORDINALITY"
            + " AS pairs(employee, slug, n)"
            + rest
            + " ORDER BY pairs.n"
        )
    return _MANY_SQL


def lookup_many(pairs: list[tuple[str, str]]) -> list[Answer]:
    """The batch: one Answer per pair, in order. Pairs this process has cached are answered
    from the cache, exactly as a single check would be; the rest in one statement
    (PostgreSQL; elsewhere `check.resolve`'s three queries), whose pieces are then kept."""
    cache = coherence.local()
    epoch = cache.epoch if cache is not None else 0  # before any read: see LocalCache.put
    answers: list[Answer | None] = [_cached(cache, *pair) for pair in pairs]
    missing = list(dict.fromkeys(p for p, a in zip(pairs, answers, strict=True) if a is None))
    if not missing:
        return answers
    read = dict(zip(missing, _read_many(missing), strict=True))
    for index, pair in enumerate(pairs):
        if answers[index] is None:
            answers[index] = read[pair]
    if cache is not None:
        for (employee, slug), answer in read.items():
            _keep(cache, employee, slug, answer, epoch)
    return answers


def _read_many(pairs: list[tuple[str, str]]) -> list[Answer]:
    if connection.vendor != "postgresql":
        resolved = check.resolve(pairs)
        return [
            _from_resolved(resolved, pair, found)
            for pair, found in zip(pairs, resolved.answers, strict=True)
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            _many_statement(),
            {
                "employees": [e for e, _ in pairs],
                "slugs": [s for _, s in pairs],
                "kind": check.DATA_USE,
            },
        )
        rows = cursor.fetchall()
    answers = []
    for (_n, uid, version, validity, record_id, action, recorded_at), (_, slug) in zip(
        rows, pairs, strict=True
    ):
        purpose = Purpose(version, validity, f"{slug}:v{version}") if version is not None else None
        known = uid is not None and purpose is not None
        record = _record(purpose, record_id, action, recorded_at) if known else None
        answers.append(Answer(uid, purpose, record))
    return answers


def _cached(cache, employee: str, slug: str) -> "Answer | None":
    """The answer from this process' cache, or None unless every piece is there (and the
    lease holds: `get` says MISSING otherwise)."""
    if cache is None:
        return None
    uid = cache.get(("e", employee))
    purpose = cache.get(("p", slug))
    if uid is MISSING or purpose is MISSING:
        return None
    record = cache.get(("r", uid, purpose.about_id))
    return None if record is MISSING else Answer(uid, purpose, record)


def _keep(cache, employee: str, slug: str, answer: "Answer", epoch: int) -> None:
    uid, purpose = answer.user_id, answer.purpose
    if uid is not None:
        cache.put(("e", employee), uid, [employee_tag(employee), person_tag(uid)], epoch)
    if purpose is not None:
        cache.put(("p", slug), purpose, [purpose_tag(slug)], epoch)
    if uid is not None and purpose is not None:
        cache.put(("r", uid, purpose.about_id), answer.record, [person_tag(uid)], epoch)


def _from_resolved(resolved, pair, found) -> Answer:
    employee, slug = pair
    uid = resolved.subject_ids.get(employee)
    if found is None:
        purpose = None if slug in resolved.unknown_purposes else Purpose(0, 0, "")
        return Answer(uid, purpose, None)
    purpose = Purpose(found["purpose_version"], 0, f"{slug}:v{found['purpose_version']}")
    if found["record_id"] is None:
        return Answer(uid, purpose, None)
    until = found["valid_until"]
    allows = until.timestamp() if found["allowed"] else 0.0
    valid_until = _iso(until) if until else None
    return Answer(
        uid, purpose, Record(found["record_id"], allows, _iso(found["decided_at"]), valid_until)
    )


def lookup(employee: str, slug: str) -> Answer:
    """The check for one pair: from the cache when every piece is there and the lease holds,
    otherwise one database read (whose pieces are kept, unless something was invalidated
    while it ran)."""
    cache = coherence.local()
    epoch = cache.epoch if cache is not None else 0  # before any read: see LocalCache.put
    answer = _cached(cache, employee, slug)
    if answer is not None:
        return answer
    uid, purpose, row = _read(employee, slug)
    record = _record(purpose, *row) if uid is not None and purpose is not None else None
    answer = Answer(uid, purpose, record)
    if cache is not None:
        _keep(cache, employee, slug, answer, epoch)
    return answer


def now() -> float:
    return time.time()


# --- employees whose external id changes -----------------------------------------------------


def _remember_loaded(sender, instance, **kwargs):
    values = instance.__dict__
    instance._checkcache_loaded = (values.get("external_id", MISSING), values.get("user_id"))


def _tags_of_employee(instance, *, deleting: bool) -> list[str]:
    if instance.pk is None:
        return []  # a new person is in no cache (unknown people are not cached)
    loaded = getattr(instance, "_checkcache_loaded", (MISSING, None))
    if not deleting and loaded == (instance.external_id, instance.user_id):
        return []  # nothing the check reads changed: no round trip for every HRIS update
    old_external_id, old_user_id = loaded
    tags = {person_tag(instance.user_id), person_tag(old_user_id)}
    for external_id in (old_external_id, instance.external_id):
        if isinstance(external_id, str):
            tags.add(employee_tag(external_id))
    return sorted(tags)


def _reloaded(sender, instance, **kwargs):
    _remember_loaded(sender, instance)


def guard_employee_caches() -> None:
    """Called once from DatauseConfig.ready."""
    from django.db.models import signals

    signals.post_init.connect(
        _remember_loaded, sender=Employee, weak=False, dispatch_uid="checkcache:employee:init"
    )
    coherence.guard_model(Employee, _tags_of_employee)
    # After a save the row holds the new values: the next save compares with those.
    signals.post_save.connect(
        _reloaded, sender=Employee, weak=False, dispatch_uid="checkcache:employee:saved"
    )
