"""Hashing and verification of the consent ledger chain.

Each record's hash covers its own content and the previous record's hash, so altering,
removing or re-ordering any record breaks every link after it. These functions are pure
(no writes); appending lives in `consent.services`. `Chain` is the one place a link is made:
the services' appends and the bench seeder both go through it.
"""

import hashlib
import ipaddress
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from consent.models import GENESIS_HASH, LEDGER_FORMAT, ConsentRecord

# Format 2 (LEDGER_FORMAT): the record's sequence number and its sealed reason are hashed, never
# the reason's words, so erasing a person's data key leaves every hash as it was.
HASHED_FIELDS = (
    "format",
    "seq",
    "subject_id",
    "about_kind",
    "about_id",
    "action",
    "terms_sha256",
    "terms_version",
    "actor_id",
    "channel",
    "recorded_at",
    "ip_address",
    "user_agent",
    "reason_key_id",
    "reason_ciphertext",
    "legacy_hash",
    "prev_hash",
)
# Format 1, kept to check a ledger before it is re-chained (migration 0007): it hashed the
# private reason's plaintext, which is why it had to go.
V1_HASHED_FIELDS = (
    "subject_id",
    "about_kind",
    "about_id",
    "action",
    "terms_sha256",
    "terms_version",
    "actor_id",
    "channel",
    "recorded_at",
    "ip_address",
    "user_agent",
    "private_reason",
    "prev_hash",
)


def sha256_of(value) -> str:
    """sha256 of text, or of the canonical JSON of a structure (sorted keys, no spaces)."""
    if not isinstance(value, str):
        value = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(value.encode()).hexdigest()


def _canonical_ip(ip: str | None) -> str | None:
    # PostgreSQL's inet type may print an address differently from how it was written.
    return ipaddress.ip_address(ip).compressed if ip else None


def _canonical_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _canonical(fields: dict, names: tuple[str, ...]) -> dict:
    canonical = {name: fields[name] for name in names}
    canonical["recorded_at"] = _canonical_time(fields["recorded_at"])
    canonical["ip_address"] = _canonical_ip(fields["ip_address"])
    canonical["about_id"] = str(fields["about_id"])
    return canonical


def record_hash(fields: dict) -> str:
    """The hash of a format-2 record (fields by HASHED_FIELDS)."""
    canonical = _canonical(fields, HASHED_FIELDS)
    canonical["format"] = int(fields["format"])
    canonical["seq"] = int(fields["seq"])
    canonical["reason_ciphertext"] = fields["reason_ciphertext"] or ""
    canonical["legacy_hash"] = fields["legacy_hash"] or ""
    return sha256_of(canonical)


def record_hash_v1(fields: dict) -> str:
    """The hash a record had in format 1 (fields by V1_HASHED_FIELDS)."""
    return sha256_of(_canonical(fields, V1_HASHED_FIELDS))


class Chain:
    """Links records in order: each gets the next sequence number, the head's hash as
    prev_hash, then its own hash.

    It holds only the head, so any number of records can stream through it one at a time.
    The caller must write the records in the order they were appended, after the record whose
    hash and sequence number started the chain (the ledger's last record, or GENESIS_HASH and
    0 for an empty ledger).
    """

    def __init__(self, head: str = GENESIS_HASH, seq: int = 0):
        self.head = head
        self.seq = seq

    def append(self, fields: dict) -> dict:
        """Set `format`, `seq`, `prev_hash` and `hash` on `fields` (the record's other
        HASHED_FIELDS; a missing reason or legacy hash counts as none) and return it; the new
        record becomes the head."""
        self.seq += 1
        fields.setdefault("reason_key_id", None)
        fields.setdefault("reason_ciphertext", "")
        fields.setdefault("legacy_hash", "")
        fields["format"] = LEDGER_FORMAT
        fields["seq"] = self.seq
        fields["prev_hash"] = self.head
        fields["hash"] = self.head = record_hash(fields)
        return fields


@dataclass(frozen=True)
class Head:
    """The newest record: its sequence number (the count of records) and its hash."""

    seq: int
    hash: str
    id: int | None = None


def head() -> Head:
    row = ConsentRecord.objects.order_by("-seq").values("seq", "hash", "id").first()
    return Head(**row) if row else Head(0, GENESIS_HASH)


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_broken_id: int | None = None
    problem: str = ""
    head: Head = Head(0, GENESIS_HASH)  # the last record that verified

    @property
    def intact(self) -> bool:
        return self.first_broken_id is None


def _problem_with(row: dict, last: Head) -> str:
    """Why `row` does not follow `last` in the chain, or ""."""
    if row["format"] != LEDGER_FORMAT:
        return f"it is in ledger format {row['format']}, not {LEDGER_FORMAT}"
    if row["prev_hash"] != last.hash:
        return "its previous-hash link does not match the record before it"
    if row["seq"] != last.seq + 1:
        return f"its sequence number {row['seq']} does not follow {last.seq}"
    if record_hash(row) != row["hash"]:
        return "its content does not match its hash"
    return ""


def verify_chain(chunk_size: int = 5000) -> ChainReport:
    """Walk the whole ledger in chain order and name the first record that does not fit."""
    last = Head(0, GENESIS_HASH)
    checked = 0
    rows = ConsentRecord.objects.order_by("seq").values(*HASHED_FIELDS, "id", "hash")
    for row in rows.iterator(chunk_size=chunk_size):
        problem = _problem_with(row, last)
        if problem:
            return ChainReport(checked, row["id"], problem, last)
        last = Head(row["seq"], row["hash"], row["id"])
        checked += 1
    return ChainReport(checked, head=last)
