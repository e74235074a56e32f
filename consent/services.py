"""The only code that writes to the consent ledger."""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from consent.ledger import Chain
from consent.models import GENESIS_HASH, ConsentRecord

# Arbitrary constant naming the ledger's PostgreSQL advisory lock ("Cons").
_LEDGER_LOCK_KEY = 0x436F6E73


@dataclass(frozen=True)
class RequestContext:
    """Where a decision came from, as stored on the record and shown on the receipt."""

    channel: str = ConsentRecord.Channel.WEB
    ip_address: str | None = None
    user_agent: str = ""


SYSTEM_CONTEXT = RequestContext(channel=ConsentRecord.Channel.SYSTEM)


def _lock_ledger_head() -> str:
    """Serialise appends so every record links to the one before; return the head's hash.

    On PostgreSQL a transaction-scoped advisory lock does it; SQLite transactions start
    IMMEDIATE (see settings), which already serialises writers.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LEDGER_LOCK_KEY])
    last = ConsentRecord.objects.order_by("-id").values_list("hash", flat=True).first()
    return last or GENESIS_HASH


def _build(chain: Chain, **fields) -> ConsentRecord:
    """A record linked onto `chain`."""
    fields.setdefault("recorded_at", timezone.now())
    fields["about_id"] = str(fields["about_id"])
    record = ConsentRecord(**fields)
    linked = chain.append({**fields, "subject_id": record.subject_id, "actor_id": record.actor_id})
    record.prev_hash, record.hash = linked["prev_hash"], linked["hash"]
    return record


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
    """Append one decision to the ledger. Must run inside the caller's transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("append_record must run inside transaction.atomic()")
    record = _build(
        Chain(_lock_ledger_head()),
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
        private_reason=private_reason,
        **({"recorded_at": recorded_at} if recorded_at else {}),
    )
    record.save(force_insert=True)
    return record


_COPY_COLUMNS = (
    "subject_id", "about_kind", "about_id", "action", "terms_sha256", "terms_version", "actor_id",
    "channel", "recorded_at", "ip_address", "user_agent", "private_reason", "prev_hash", "hash",
)  # fmt: skip


def _copy(records: list[ConsentRecord]) -> None:
    """Insert with PostgreSQL COPY, in chain order: the expiry sweep appends thousands of
    records at once, and a multi-row INSERT of them cost about half a second per 7,000
    (make bench). COPY is an insert: the append-only trigger is not involved."""
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor, inside our transaction
        table = ConsentRecord._meta.db_table
        with raw.copy(f"COPY {table} ({', '.join(_COPY_COLUMNS)}) FROM STDIN") as copy:
            for r in records:
                copy.write_row([getattr(r, column) for column in _COPY_COLUMNS])


@transaction.atomic
def append_system_records(entries: list[dict], *, action: str) -> list[ConsentRecord]:
    """Append many system-made records (e.g. expiries) under one lock, in one statement.

    Each entry holds subject_id, about_kind, about_id, terms_sha256, terms_version. On
    PostgreSQL the records are copied in and the returned instances carry no primary key.
    """
    chain = Chain(_lock_ledger_head())
    now = timezone.now()
    records = [
        _build(
            chain,
            action=action,
            actor=None,
            channel=SYSTEM_CONTEXT.channel,
            ip_address=None,
            user_agent="",
            private_reason="",
            recorded_at=now,
            **entry,
        )
        for entry in entries
    ]
    if connection.vendor == "postgresql":
        _copy(records)
        return records
    return ConsentRecord.objects.bulk_create(records, batch_size=2000)
