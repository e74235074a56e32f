"""Signed checkpoints of the ledger's head, kept outside the database.

The hash chain shows a record changed behind the triggers' back, but not a rewrite by the
database owner who recomputes every hash from one record onward, deletes the newest records,
or truncates the table: the rewritten chain verifies. A checkpoint says "at this time the
ledger held `count` records and record `seq` had hash `hash`", signed (a compact JWS, Ed25519,
with the receipt signing key: consent.signing) and written where the database owner cannot
reach it: `checkpoint_ledger --out FILE` on demand, the hourly beat task into
PORTAL_LEDGER_CHECKPOINT_DIR, and every emailed receipt (its `ledgerHead`). Auditors verify
one offline with /.well-known/jwks.json; `verify_ledger --checkpoint` compares it with the
ledger and names what changed.
"""

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from consent import ledger, receipts, signing
from consent.models import LEDGER_FORMAT, ConsentRecord, LedgerEpoch

CTY = "consent-ledger-checkpoint+json"
TYPE = "consent-ledger-checkpoint"


class InvalidCheckpoint(Exception):
    """A file that is not a checkpoint signed by the portal; the message says why."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int  # the head's sequence number
    hash: str  # the head's hash
    count: int  # records in the ledger
    at: datetime  # when it was taken
    format: int = LEDGER_FORMAT
    source: str = ""  # where it was read from (a file name), for messages

    def payload(self) -> dict:
        return {
            "type": TYPE,
            "format": self.format,
            "seq": self.seq,
            "hash": self.hash,
            "count": self.count,
            "at": self.at.isoformat(),
            "issuer": settings.PORTAL_BASE_URL,
        }


def take(now: datetime | None = None) -> Checkpoint:
    """The ledger's head now (two queries: the head, the count)."""
    last = ledger.head()
    return Checkpoint(
        seq=last.seq,
        hash=last.hash,
        count=ConsentRecord.objects.count(),
        at=now or timezone.now(),
    )


def signed(checkpoint: Checkpoint) -> str:
    return signing.sign_json(checkpoint.payload(), cty=CTY, now=checkpoint.at)


def write(path: Path, checkpoint: Checkpoint | None = None) -> Checkpoint:
    """Write a signed checkpoint to `path` (written aside, then renamed: never half a file)."""
    checkpoint = checkpoint or take()
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    aside.write_text(signed(checkpoint) + "\n")
    os.replace(aside, path)
    return checkpoint


def write_to_directory(directory: Path, now: datetime | None = None) -> tuple[Path, Checkpoint]:
    checkpoint = take(now)
    name = f"ledger-checkpoint-{checkpoint.at:%Y%m%dT%H%M%S.%fZ}-{checkpoint.seq}.jws"
    path = directory / name
    return path, write(path, checkpoint)


def _int(value, name: str, source: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidCheckpoint(f"{source}: {name} is not a non-negative whole number")
    return value


def read(token: str | bytes, *, source: str = "", key_set: dict | None = None) -> Checkpoint:
    """A checkpoint from a signed checkpoint or an emailed receipt (its `ledgerHead`), after
    checking the signature against `key_set` (the portal's keys when None)."""
    try:
        verified = signing.verify_json(token, key_set)
    except signing.InvalidReceipt as exc:
        raise InvalidCheckpoint(f"{source}: {exc}") from None
    payload = verified.receipt
    if not isinstance(payload, dict):
        raise InvalidCheckpoint(f"{source}: the signed payload is not a JSON object")
    if payload.get("type") != TYPE:
        extension = payload.get(receipts.EXTENSION_KEY)
        head = extension.get("ledgerHead") if isinstance(extension, dict) else None
        if not isinstance(head, dict):
            raise InvalidCheckpoint(
                f"{source}: signed, but neither a ledger checkpoint nor a receipt naming the "
                "ledger's head"
            )
        payload = {**head, "count": head.get("seq"), "format": extension.get("ledgerFormat")}
    at = parse_datetime(str(payload.get("at") or ""))
    if at is None:
        raise InvalidCheckpoint(f"{source}: no valid time (at)")
    digest = payload.get("hash")
    if not isinstance(digest, str) or len(digest) != 64:
        raise InvalidCheckpoint(f"{source}: no valid head hash")
    return Checkpoint(
        seq=_int(payload.get("seq"), "seq", source),
        hash=digest,
        count=_int(payload.get("count"), "count", source),
        at=at,
        format=payload.get("format") or LEDGER_FORMAT,
        source=source,
    )


def files_in(paths: list[str]) -> list[Path]:
    """The checkpoint files named, a directory standing for every .jws file in it."""
    found = []
    for name in paths:
        path = Path(name)
        found.extend(sorted(path.glob("*.jws")) if path.is_dir() else [path])
    return found


def disagreements(checkpoint: Checkpoint, now_head: ledger.Head, count: int) -> list[str]:
    """What the ledger now says against one checkpoint, in words; empty when it agrees.

    Records may only have been added since: the head's sequence number and the count may only
    grow, and the record at the checkpoint's sequence number must still have its hash (or, for
    a checkpoint of an older format, the hash it had then, explained by a LedgerEpoch)."""
    taken = f"the checkpoint of {checkpoint.at:%Y-%m-%d %H:%M:%S %Z} ({checkpoint.source})"
    if checkpoint.count and count == 0:
        return [
            f"ledger truncated: it is empty, but {taken} saw {checkpoint.count} records "
            f"ending at sequence number {checkpoint.seq}"
        ]
    problems = []
    if now_head.seq < checkpoint.seq or count < checkpoint.count:
        problems.append(
            f"missing tail: the ledger ends at sequence number {now_head.seq} with {count} "
            f"records, but {taken} saw {checkpoint.count} records ending at "
            f"{checkpoint.seq}: the newest records were deleted"
        )
    if checkpoint.seq == 0:
        return problems
    row = (
        ConsentRecord.objects.filter(seq=checkpoint.seq).values("id", "hash", "legacy_hash").first()
    )
    if row is None:
        return problems
    if row["hash"] == checkpoint.hash:
        return problems
    explained = (
        checkpoint.format != LEDGER_FORMAT
        and row["legacy_hash"] == checkpoint.hash
        and LedgerEpoch.objects.filter(format=LEDGER_FORMAT).exists()
    )
    if not explained:
        problems.append(
            f"ledger rewritten: record {row['id']} (sequence number {checkpoint.seq}) has hash "
            f"{row['hash']}, but {taken} signed {checkpoint.hash}: it or a record before it "
            "was changed and the chain recomputed"
        )
    return problems
