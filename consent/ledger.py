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

from consent.models import GENESIS_HASH, ConsentRecord

HASHED_FIELDS = (
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


def record_hash(fields: dict) -> str:
    canonical = {name: fields[name] for name in HASHED_FIELDS}
    canonical["recorded_at"] = _canonical_time(fields["recorded_at"])
    canonical["ip_address"] = _canonical_ip(fields["ip_address"])
    canonical["about_id"] = str(fields["about_id"])
    return sha256_of(canonical)


class Chain:
    """Links records in order: each gets the head's hash as prev_hash, then its own hash.

    It holds only the head, so any number of records can stream through it one at a time.
    The caller must write the records in the order they were appended, after the record whose
    hash started the chain (the ledger's last record, or GENESIS_HASH for an empty ledger).
    """

    def __init__(self, head: str = GENESIS_HASH):
        self.head = head

    def append(self, fields: dict) -> dict:
        """Set `prev_hash` and `hash` on `fields` (the record's HASHED_FIELDS but prev_hash)
        and return it; the new record becomes the head."""
        fields["prev_hash"] = self.head
        fields["hash"] = self.head = record_hash(fields)
        return fields


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_broken_id: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.first_broken_id is None


def verify_chain(chunk_size: int = 5000) -> ChainReport:
    """Walk the whole ledger in insertion order and name the first record that does not fit."""
    expected_prev = GENESIS_HASH
    checked = 0
    rows = ConsentRecord.objects.order_by("id").values(*HASHED_FIELDS, "id", "hash")
    for row in rows.iterator(chunk_size=chunk_size):
        if row["prev_hash"] != expected_prev:
            return ChainReport(
                checked, row["id"], "its previous-hash link does not match the record before it"
            )
        if record_hash(row) != row["hash"]:
            return ChainReport(checked, row["id"], "its content does not match its hash")
        expected_prev = row["hash"]
        checked += 1
    return ChainReport(checked)
