"""The only code that writes to the consent ledger (and erases a person's private reasons)."""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from consent import crypto
from consent.ledger import Chain, Head, head
from consent.models import ConsentRecord, SubjectKey
from portal import copying

# Arbitrary constant naming the ledger's PostgreSQL advisory lock ("Cons").
_LEDGER_LOCK_KEY = 0x436F6E73


@dataclass(frozen=True)
class RequestContext:
    """Where a decision came from, as stored on the record and shown on the receipt."""

    channel: str = ConsentRecord.Channel.WEB
    ip_address: str | None = None
    user_agent: str = ""


SYSTEM_CONTEXT = RequestContext(channel=ConsentRecord.Channel.SYSTEM)


def _lock_ledger() -> None:
    """Serialise appends (and erasures) so every record links to the one before.

    On PostgreSQL a transaction-scoped advisory lock does it; SQLite transactions start
    IMMEDIATE (see settings), which already serialises writers.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LEDGER_LOCK_KEY])


def _lock_ledger_head() -> Head:
    """Take the ledger lock; return the head every new record links onto."""
    _lock_ledger()
    return head()


def _chain() -> Chain:
    last = _lock_ledger_head()
    return Chain(last.hash, last.seq)


def _build(chain: Chain, **fields) -> ConsentRecord:
    """A record linked onto `chain`."""
    fields.setdefault("recorded_at", timezone.now())
    fields["about_id"] = str(fields["about_id"])
    record = ConsentRecord(**fields)
    linked = chain.append(
        {
            **fields,
            "subject_id": record.subject_id,
            "actor_id": record.actor_id,
            "reason_key_id": record.reason_key_id,
        }
    )
    record.format, record.seq = linked["format"], linked["seq"]
    record.prev_hash, record.hash = linked["prev_hash"], linked["hash"]
    return record


def _live_key(subject) -> tuple[SubjectKey, bytes]:
    """The subject's live data key (made on their first reason), and it unwrapped. Called
    under the ledger lock, so two appends cannot both make one."""
    key = SubjectKey.objects.filter(subject=subject, erased_at__isnull=True).first()
    if key is None:
        data_key, wrapped, master_id = crypto.new_data_key(subject.pk)
        key = SubjectKey.objects.create(subject=subject, wrapped=wrapped, master_key_id=master_id)
        return key, data_key
    data_key = crypto.unwrap(key.wrapped, subject_id=subject.pk, master_key_id=key.master_key_id)
    return key, data_key


def _sealed_reason(subject, reason: str) -> dict:
    """The record's reason fields: the words sealed with the subject's key, or none."""
    if not reason:
        return {"reason_key": None, "reason_ciphertext": ""}
    key, data_key = _live_key(subject)
    sealed = crypto.seal(reason, data_key=data_key, subject_id=subject.pk, key_id=key.pk)
    return {"reason_key": key, "reason_ciphertext": sealed}


def append_record(
    *,
    subject,
    about_kind: str,
    about_id,
    action: str,
    terms_sha256: str,
    terms_version: str,
    actor,
    context: RequestContext,
    private_reason: str = "",
    recorded_at: datetime | None = None,
) -> ConsentRecord:
    """Append one decision to the ledger. Must run inside the caller's transaction.

    A private reason is sealed with the subject's data key before anything is written: the
    database never holds its words (consent.crypto)."""
    if not connection.in_atomic_block:
        raise RuntimeError("append_record must run inside transaction.atomic()")
    chain = _chain()
    record = _build(
        chain,
        subject=subject,
        about_kind=about_kind,
        about_id=about_id,
        action=action,
        terms_sha256=terms_sha256,
        terms_version=str(terms_version),
        actor=actor,
        channel=context.channel,
        ip_address=context.ip_address,
        user_agent=context.user_agent[:1000],
        **_sealed_reason(subject, private_reason),
        **({"recorded_at": recorded_at} if recorded_at else {}),
    )
    record.save(force_insert=True)
    return record


_COPY_COLUMNS = (
    "subject_id", "about_kind", "about_id", "action", "terms_sha256", "terms_version", "actor_id",
    "channel", "recorded_at", "ip_address", "user_agent", "reason_ciphertext", "reason_key_id",
    "seq", "format", "legacy_hash", "prev_hash", "hash",
)  # fmt: skip


def _copy(records: list[ConsentRecord]) -> None:
    """Insert with PostgreSQL COPY, in chain order: the expiry sweep appends thousands of
    records at once, and a multi-row INSERT of them cost about half a second per 7,000
    (make bench). COPY is an insert: the append-only trigger is not involved."""
    copying.copy_rows(
        ConsentRecord, _COPY_COLUMNS, ([getattr(r, c) for c in _COPY_COLUMNS] for r in records)
    )


@transaction.atomic
def append_system_records(entries: list[dict], *, action: str) -> list[ConsentRecord]:
    """Append many system-made records (e.g. expiries) under one lock, in one statement.

    Each entry holds subject_id, about_kind, about_id, terms_sha256, terms_version. On
    PostgreSQL the records are copied in and the returned instances carry no primary key.
    """
    chain = _chain()
    now = timezone.now()
    records = [
        _build(
            chain,
            action=action,
            actor=None,
            channel=SYSTEM_CONTEXT.channel,
            ip_address=None,
            user_agent="",
            recorded_at=now,
            **entry,
        )
        for entry in entries
    ]
    if copying.available():
        _copy(records)
        return records
    return ConsentRecord.objects.bulk_create(records, batch_size=2000)


@dataclass(frozen=True)
class Erasure:
    keys_erased: int
    reasons_erased: int  # sealed reasons that can no longer be opened


@transaction.atomic
def erase_private_reasons(*, subject, now: datetime | None = None) -> Erasure:
    """Make every private reason `subject` ever gave unreadable, for good.

    1. Take the ledger lock, so no append is sealing with the key being erased.
    2. Blank each of their data keys (the wrapped key bytes) and mark it erased.
    3. Leave the ledger alone: its rows hold only ciphertext, the chain hashes that ciphertext,
       so `verify_ledger` still passes and receipts still match.

    A reason given after this gets a new key. Backups taken before keep the old wrapped key
    (useless without the master key) until they expire: the README says to rotate them out.
    """
    _lock_ledger()
    keys = SubjectKey.objects.filter(subject=subject, erased_at__isnull=True)
    key_ids = list(keys.values_list("pk", flat=True))
    erased = keys.update(wrapped=b"", master_key_id="", erased_at=now or timezone.now())
    reasons = ConsentRecord.objects.filter(reason_key_id__in=key_ids).count() if key_ids else 0
    return Erasure(keys_erased=erased, reasons_erased=reasons)
