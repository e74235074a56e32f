"""The consent check's access log, without a database write per check.

Every answered check is a read of a person's consent data by a collector, so it must reach the
person's access log, and none may be lost. A write per check would cost more than the check
itself, so:

1. Before the answer goes out, the process appends one line ("key person slug version time")
   to its own spool file with a single `os.write` on an O_APPEND descriptor. From then on the
   line is the kernel's: a crash of the process (SIGKILL, OOM, segfault) cannot lose it.
2. A flusher thread in the process (every PORTAL_CHECK_LOG_FLUSH_SECONDS, and at exit) reads
   the lines after the spool's committed offset and, in one transaction, adds them to
   `ConsentCheckLog` (one row per key, person, purpose version and day, UTC), writes one
   `consent.AccessLogEntry` for each such row it creates (the privacy centre's access log), and
   moves the offset (`CheckLogSpool`). A flush repeated after a crash starts at the committed
   offset, so lines are counted exactly once.
3. Each process holds an exclusive `flock` on its spool while it lives; the kernel releases it
   when the process dies, however it dies. Flushers (and `manage.py drain_consent_check_log`)
   take over spools whose lock they can get: those of dead processes. They drain them and
   delete them.

What could still be lost is a machine losing power (or its disk) within the few seconds before
a flush, for lines the kernel had not written to disk: each flush fsyncs, so that is at most
one flush interval, the same bound as Redis' `appendfsync everysec` or PostgreSQL's
`synchronous_commit = off`. Making it zero would need an fsync or a network round trip per
check, which is what this design exists to avoid.
"""

import atexit
import fcntl
import logging
import os
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import close_old_connections, connection, transaction

from api.models import ApiKey
from consent.models import AccessLogEntry
from datause.models import CheckLogSpool, ConsentCheckLog

log = logging.getLogger(__name__)

PAGE = "api:consent-check"
ROTATE_BYTES = 8 * 1024 * 1024  # a spool this long, all counted, is replaced by a new one
SUFFIX = ".spool"


def spool_dir() -> Path:
    configured = getattr(settings, "PORTAL_CHECK_LOG_DIR", "")
    return Path(configured or Path(settings.BASE_DIR) / "var" / "consent-check-log")


def flush_seconds() -> float:
    return float(getattr(settings, "PORTAL_CHECK_LOG_FLUSH_SECONDS", 2))


class Spool:
    """This process' spool file (one per process; a new one after a fork)."""

    def __init__(self):
        self.pid = os.getpid()
        self.dir = spool_dir()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.write_lock = threading.Lock()
        self.flush_lock = threading.Lock()
        self._open()
        self.stopping = threading.Event()
        self.thread = None
        if flush_seconds() > 0:
            self.thread = threading.Thread(target=self._run, name="checklog", daemon=True)
            self.thread.start()
        atexit.register(self.close)

    def _open(self):
        host = os.uname().nodename.replace("/", "_")
        self.name = f"{host}-{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}"
        self.path = self.dir / self.name
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # ours while we live

    def append(self, data: bytes) -> None:
        with self.write_lock:
            os.write(self.fd, data)

    def flush(self) -> int:
        """Count what this process spooled so far; returns how many checks were added."""
        with self.flush_lock:
            added = flush_file(self.path, self.name)
            if self.path.stat().st_size >= ROTATE_BYTES:
                self._rotate()
            return added

    def _rotate(self):
        with self.write_lock:
            old_fd, old_path, old_name = self.fd, self.path, self.name
            self._open()
        added = flush_file(old_path, old_name)  # nobody writes to it any more
        _retire(old_path, old_name)
        os.close(old_fd)
        return added

    def _run(self):
        last_sweep = 0.0
        while not self.stopping.wait(flush_seconds()):
            try:
                self.flush()
                if time.monotonic() - last_sweep > 30:
                    last_sweep = time.monotonic()
                    drain_orphans()
            except Exception:
                log.warning("checklog: flush failed; the lines stay spooled", exc_info=True)
            finally:
                close_old_connections()

    def close(self):
        if os.getpid() != self.pid or self.stopping.is_set() or self.thread is None:
            return  # without a flusher (tests) only an explicit flush() counts
        self.stopping.set()
        try:
            self.flush()
            if self.path.stat().st_size == _applied(self.name):
                _retire(self.path, self.name)
        except Exception:  # left spooled: the next flusher on this machine takes it over
            log.warning("checklog: could not flush at exit", exc_info=True)


_spool: Spool | None = None
_spool_lock = threading.Lock()


def spool() -> Spool:
    global _spool
    current = _spool
    if current is not None and current.pid == os.getpid():
        return current
    with _spool_lock:
        if _spool is None or _spool.pid != os.getpid():
            _spool = Spool()
        return _spool


def record(key_id: int, user_id: int, slug: str, version: int, at: float | None = None) -> None:
    """Spool one answered check (before the answer is sent)."""
    spool().append(f"{key_id} {user_id} {slug} {version} {int(at or time.time())}\n".encode())


def record_many(key_id: int, checks, at: float | None = None) -> None:
    """Spool a batch's answered checks, (user id, slug, version) each, in one write."""
    stamp = int(at or time.time())
    lines = "".join(f"{key_id} {uid} {slug} {version} {stamp}\n" for uid, slug, version in checks)
    if lines:
        spool().append(lines.encode())


def flush() -> int:
    """Count this process' spooled checks now (tests; the flusher does it on a timer)."""
    return spool().flush()


# --- counting -----------------------------------------------------------------------------------


def _applied(name: str) -> int:
    found = CheckLogSpool.objects.filter(name=name).values_list("applied_bytes", flat=True)
    return found[0] if found else 0


def _retire(path: Path, name: str) -> None:
    # The file first: a counted spool row without its file is harmless, a file whose row is
    # gone would be counted again from its start.
    path.unlink(missing_ok=True)
    CheckLogSpool.objects.filter(name=name).delete()


def _parse(chunk: bytes):
    for line in chunk.decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) != 5 or not all(p.isdigit() for p in parts[:2] + parts[3:]):
            continue  # never written by record(): skip rather than stall the spool
        yield int(parts[0]), int(parts[1]), parts[2], int(parts[3]), int(parts[4])


def flush_file(path: Path, name: str) -> int:
    """Add the spool's complete lines after its committed offset, exactly once."""
    with transaction.atomic():
        spool_row, _ = CheckLogSpool.objects.select_for_update().get_or_create(name=name)
        with open(path, "rb") as f:
            f.seek(spool_row.applied_bytes)
            chunk = f.read()
            os.fsync(f.fileno())
        end = chunk.rfind(b"\n") + 1  # a line still being written waits for the next flush
        if end == 0:
            return 0
        counts: dict[tuple, list] = defaultdict(lambda: [0, None, None])
        for key_id, user_id, slug, version, stamp in _parse(chunk[:end]):
            at = datetime.fromtimestamp(stamp, UTC)
            entry = counts[(key_id, user_id, slug, version, at.date())]
            entry[0] += 1
            entry[1] = at if entry[1] is None or at < entry[1] else entry[1]
            entry[2] = at if entry[2] is None or at > entry[2] else entry[2]
        added = _count(counts)
        spool_row.applied_bytes += end
        spool_row.updated_at = datetime.now(UTC)
        spool_row.save(update_fields=["applied_bytes", "updated_at"])
    return added


def _count(counts: dict) -> int:
    """Upsert the day rows; a new row also writes the person's access-log entry. Checks about a
    key or person that no longer exists are dropped (nobody is left to see them)."""
    if not counts:
        return 0
    keys = {
        pk: (user_id, name)
        for pk, user_id, name in ApiKey.objects.filter(pk__in={k[0] for k in counts}).values_list(
            "pk", "service_user_id", "name"
        )
    }
    people = set(
        get_user_model().objects.filter(pk__in={k[1] for k in counts}).values_list("pk", flat=True)
    )
    counts = {k: v for k, v in counts.items() if k[0] in keys and k[1] in people}
    created = _upsert(counts)
    AccessLogEntry.objects.bulk_create(
        AccessLogEntry(
            viewer_id=keys[key_id][0],
            subject_id=user_id,
            at=counts[(key_id, user_id, slug, version, day)][1],
            channel=AccessLogEntry.Channel.API,
            page=PAGE,
            purpose=f"consent check by {keys[key_id][1]}: {slug} (version {version})"[:500],
        )
        for key_id, user_id, slug, version, day in created
    )
    last_used: dict[int, datetime] = {}
    for (key_id, *_), (_, _, last) in counts.items():
        last_used[key_id] = max(last, last_used.get(key_id, last))
    for key_id, at in last_used.items():  # the cached key no longer touches its row per check
        ApiKey.objects.filter(pk=key_id).exclude(last_used_at__gte=at).update(last_used_at=at)
    return sum(v[0] for v in counts.values())


def _upsert(counts: dict) -> list[tuple]:
    """Add the counts; returns the (key, person, slug, version, day) rows that are new."""
    if not counts:
        return []
    if connection.vendor == "postgresql":
        table = ConsentCheckLog._meta.db_table
        # In key order: two processes flushing overlapping rows lock them in the same order,
        # so they queue instead of deadlocking.
        rows = [(*k, v[0], v[1], v[2]) for k, v in sorted(counts.items())]
        # Eight arrays, not eight parameters per row: a flush of thousands of rows stays one
        # short statement for the client to send.
        columns = [list(column) for column in zip(*rows, strict=True)]
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {table} AS t (api_key_id, subject_id, purpose_slug, purpose_version,
                                          day, checks, first_at, last_at)
                SELECT * FROM unnest(%s::bigint[], %s::integer[], %s::text[], %s::integer[],
                                     %s::date[], %s::bigint[], %s::timestamptz[],
                                     %s::timestamptz[])
                ON CONFLICT (api_key_id, subject_id, purpose_slug, purpose_version, day)
                DO UPDATE SET checks = t.checks + EXCLUDED.checks,
                              first_at = LEAST(t.first_at, EXCLUDED.first_at),
                              last_at = GREATEST(t.last_at, EXCLUDED.last_at)
                RETURNING api_key_id, subject_id, purpose_slug, purpose_version, day,
                          (xmax = 0) AS inserted
                """,
                columns,
            )
            return [tuple(r[:5]) for r in cursor.fetchall() if r[5]]
    created = []
    for (key_id, user_id, slug, version, day), (n, first, last) in counts.items():
        row, new = ConsentCheckLog.objects.select_for_update().get_or_create(
            api_key_id=key_id, subject_id=user_id, purpose_slug=slug, purpose_version=version,
            day=day, defaults={"checks": 0, "first_at": first, "last_at": last},
        )  # fmt: skip
        row.checks += n
        row.first_at, row.last_at = min(row.first_at, first), max(row.last_at, last)
        row.save(update_fields=["checks", "first_at", "last_at"])
        if new:
            created.append((key_id, user_id, slug, version, day))
    return created


def drain_orphans() -> int:
    """Count and delete the spools of processes that died (their lock is free)."""
    own = _spool.path if _spool is not None and _spool.pid == os.getpid() else None
    added = 0
    directory = spool_dir()
    if not directory.is_dir():
        return 0
    for path in sorted(directory.glob("*" + SUFFIX)):
        if path == own:
            continue
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue  # its process is alive
        try:
            if os.fstat(fd).st_nlink == 0:
                continue  # retired meanwhile by someone else
            added += flush_file(path, path.name)
            _retire(path, path.name)
        finally:
            os.close(fd)
    return added


# --- what the privacy centre shows --------------------------------------------------------------


def checks_of(subject):
    """Which collectors checked a person's data-use consent, how often, per purpose and day
    (newest day first). For the person's own privacy centre; the first check of each day is
    also an entry in `consent.access.reads_of`."""
    return (
        ConsentCheckLog.objects.filter(subject=subject)
        .select_related("api_key")
        .order_by("-day", "purpose_slug", "api_key__name")
    )
