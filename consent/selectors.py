import logging

from django.db.models import QuerySet, Subquery

from consent import crypto
from consent.models import ConsentRecord, SubjectKey

logger = logging.getLogger(__name__)


def records_about(about_kind: str, about_id) -> QuerySet[ConsentRecord]:
    return ConsentRecord.objects.filter(about_kind=about_kind, about_id=str(about_id)).order_by(
        "id"
    )


def latest_record_about(about_kind: str, about_id) -> ConsentRecord | None:
    return records_about(about_kind, about_id).order_by("-id").first()


def records_of(subject) -> QuerySet[ConsentRecord]:
    """A person's own ledger, newest first."""
    return ConsentRecord.objects.filter(subject=subject).order_by("-id")


def private_reason_of(record: ConsentRecord, reader) -> str:
    """The private reason on `record`, in words, for its subject alone; "" for anyone else.

    The one reader of a private reason (DESIGN.md, invariant 6): no role, not even a superuser,
    opens another person's reason, and nothing else in the code decrypts one. "" too when no
    reason was given, or when the person's key was erased (`reason_erased` tells the two
    apart)."""
    return private_reasons_of([record], reader)[record.pk]


def private_reasons_of(records, reader) -> dict[int, str]:
    """`private_reason_of` for many records (record id -> words): their keys in one query,
    each key unwrapped once."""
    reasons = {record.pk: "" for record in records}
    own = [
        r
        for r in records
        if reader is not None
        and getattr(reader, "pk", None) == r.subject_id
        and r.reason_ciphertext
        and r.reason_key_id is not None
    ]
    if not own:
        return reasons
    keys = SubjectKey.objects.filter(
        pk__in={r.reason_key_id for r in own}, subject_id=reader.pk, erased_at__isnull=True
    )
    data_keys = {}
    for key in keys:
        try:
            data_keys[key.pk] = crypto.unwrap(
                key.wrapped, subject_id=key.subject_id, master_key_id=key.master_key_id
            )
        except crypto.ReasonUnreadable:
            logger.error("data key %s cannot be unwrapped", key.pk)
    for record in own:
        data_key = data_keys.get(record.reason_key_id)
        if data_key is None:
            continue  # erased
        try:
            reasons[record.pk] = crypto.open_sealed(
                record.reason_ciphertext,
                data_key=data_key,
                subject_id=record.subject_id,
                key_id=record.reason_key_id,
            )
        except crypto.ReasonUnreadable:
            # Tampered ciphertext: the person still gets their page, the operator the evidence.
            logger.error("private reason of record %s cannot be opened", record.pk)
    return reasons


def reason_erased(record: ConsentRecord) -> bool:
    """A reason was given, and its key has since been erased."""
    if not record.reason_ciphertext or record.reason_key_id is None:
        return False
    return SubjectKey.objects.filter(pk=record.reason_key_id, erased_at__isnull=False).exists()


def latest_action_about(about_kind: str, about_id) -> Subquery:
    """The newest ledger action about each `about_id` (an OuterRef in the caller's query): a
    workflow's state checker compares its own rows with it in one query."""
    return Subquery(
        ConsentRecord.objects.filter(about_kind=about_kind, about_id=about_id)
        .order_by("-id")  # consent_about_idx; ids grow with seq (appends hold the ledger lock)
        .values("action")[:1]
    )
