"""Per-process caches that never answer from before a committed change.

A hot read path (the consent check, the API key behind it) answers from a dictionary in each
web process. That is only safe if no process can still answer from its copy once the change
that makes the copy wrong has committed, so invalidations are pushed to every process *before*
the writer commits, and acknowledged:

Writer, inside its transaction, after its writes and before its commit (`invalidate_before_commit`):
  1. One Lua call adds a *pending mark* (a token and the tags it invalidates) to the hash
     `coherence:pending` and the stream `coherence:stream`, and returns the live workers.
  2. It waits until each of them acknowledged the mark, or until that worker's lease has run
     out by Redis' clock. Only then does the writer go on to commit.
  3. After the commit (`on_commit`) it removes the mark and streams a *done* entry, which drops
     the tags once more.

Worker (one listener thread per process, `local()`):
  - registers: a lease of LEASE_MS by Redis' clock in the sorted set `coherence:workers`, its
    stream position, and every pending mark already out (a worker that starts during a
    writer's transaction must not fill its cache from the old state either). Its cache starts
    empty, every time it (re)registers.
  - loops: XREAD BLOCK from its position; applies each entry under the cache's lock (drop the
    tagged entries, hold the tags pending until done, bump the epoch); then acknowledges and
    renews in one Lua call. A renewal is refused when the lease already ran out or the worker
    is still behind a mark older than GRACE_MS, so a stuck worker loses its lease: the writer
    never waits longer than LEASE_MS + GRACE_MS for anyone.
  - Request threads use the cache only while the local lease holds. Its deadline is measured
    on the monotonic clock from *before* the renewal was sent, minus a margin, so it ends
    before the lease Redis granted. No lease (Redis down, a slow listener, not registered
    yet): every read goes to the database, which is always right.

Filling the cache races with invalidation, so a fill is kept only if the epoch is the one read
before the database was (no invalidation arrived meanwhile) and none of its tags is pending.
Redis losing its data (FLUSHDB, a restart without persistence) would hide live workers from a
writer, so the registry carries a marker with its creation time and a writer waits at least
until LEASE_MS after it: every lease granted before the loss has ended by then.

Without REDIS_URL (the embedded `make run`) nothing is cached and writers do nothing.
"""

import atexit
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)

PREFIX = "coherence:"
STREAM, PENDING, WORKERS, ACKED, MARKER = (
    PREFIX + name for name in ("stream", "pending", "workers", "acked", "marker")
)
LEASE_MS = 2000  # a worker's cache is usable this long after a renewal, by Redis' clock
RENEW_EVERY_MS = 400  # the listener renews at least this often (its XREAD block)
MARGIN_MS = 300  # the local lease ends this much before the one Redis granted
GRACE_MS = 1000  # a worker behind a pending mark older than this loses its lease
PENDING_TTL_MS = 60_000  # a mark whose writer never said done (rolled back, crashed) expires
WAIT_LIMIT_S = (LEASE_MS + GRACE_MS + 2000) / 1000
MAX_ENTRIES = 200_000  # a full cache is emptied, not grown: memory stays bounded
MISSING = object()

# Redis' clock in milliseconds, inside a script (Redis 7 replicates effects, so TIME is allowed).
_NOW = "local t = redis.call('TIME'); local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"

ANNOUNCE = (
    _NOW
    + """
local marker = redis.call('GET', KEYS[4])
if not marker then marker = now; redis.call('SET', KEYS[4], now) end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', 10000, '*',
                      'kind', 'pending', 'token', ARGV[1], 'tags', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], id .. '|' .. now .. '|' .. (now + tonumber(ARGV[3])) ..
           '|' .. ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - 60000)
return {id, now, tonumber(marker), redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. now, '+inf')}
"""
)

DONE = """
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', 10000, '*', 'kind', 'done', 'token', ARGV[1],
           'tags', ARGV[2])
return 1
"""

# Which of these workers no longer hold a lease (expired, or gone from the registry)?
EXPIRED = (
    _NOW
    + """
local gone = {}
for i, worker in ipairs(ARGV) do
  local score = redis.call('ZSCORE', KEYS[1], worker)
  if not score or tonumber(score) <= now then table.insert(gone, worker) end
end
return gone
"""
)

REGISTER = (
    _NOW
    + """
if not redis.call('GET', KEYS[5]) then redis.call('SET', KEYS[5], now) end
local last = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)
local position = '0-0'
if last[1] then position = last[1][1] end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], position)
local marks = {}
local all = redis.call('HGETALL', KEYS[3])
for i = 1, #all, 2 do
  local expires = tonumber(string.match(all[i + 1], '^[^|]*|[^|]*|([^|]*)|'))
  if expires and expires > now then
    table.insert(marks, all[i]); table.insert(marks, all[i + 1])
  else
    redis.call('HDEL', KEYS[3], all[i])
  end
end
return {position, marks}
"""
)

# Acknowledge the marks applied, record the position, renew: 1, or 0 when the lease is lost.
RENEW = (
    _NOW
    + """
local worker, position = ARGV[1], ARGV[2]
local score = redis.call('ZSCORE', KEYS[1], worker)
if not score or tonumber(score) <= now then return 0 end
for i = 6, #ARGV do
  local key = ARGV[4] .. ARGV[i]
  redis.call('LPUSH', key, worker); redis.call('PEXPIRE', key, 120000)
end
redis.call('HSET', KEYS[2], worker, position)
local pms, pseq = string.match(position, '^(%d+)-(%d+)$')
pms, pseq = tonumber(pms), tonumber(pseq)
for _, mark in ipairs(redis.call('HVALS', KEYS[3])) do
  local ms, seq, created = string.match(mark, '^(%d+)-(%d+)|(%d+)|')
  ms, seq, created = tonumber(ms), tonumber(seq), tonumber(created)
  local behind = ms > pms or (ms == pms and seq > pseq)
  if behind and now - created > tonumber(ARGV[5]) then return 0 end
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), worker)
return 1
"""
)


class CoherenceError(RuntimeError):
    """The caches could not be told of a change in time; the change must not commit."""


def enabled() -> bool:
    return bool(getattr(settings, "REDIS_URL", ""))


def caching_enabled() -> bool:
    return enabled() and getattr(settings, "PORTAL_CHECK_CACHE", True)


def _redis(**options):
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, **options)


_writer_client = None
_writer_pid = None


def _writer():
    global _writer_client, _writer_pid
    if _writer_client is None or _writer_pid != os.getpid():
        _writer_client = _redis(socket_timeout=5, socket_connect_timeout=3)
        _writer_pid = os.getpid()
    return _writer_client


# --- the writer's side -----------------------------------------------------------------------


def announce(tags: Iterable[str]) -> tuple[str, list[str]] | None:
    """Publish a pending mark for `tags` and wait until no live worker can answer from before
    it. Returns (token, tags) for `finish`, or None when nothing is cached anywhere."""
    if not enabled():
        return None
    tags = sorted(set(tags))
    token = uuid.uuid4().hex
    encoded = json.dumps(tags)
    client = _writer()
    try:
        _id, now, marker, live = client.eval(
            ANNOUNCE, 4, STREAM, PENDING, WORKERS, MARKER, token, encoded, PENDING_TTL_MS
        )
        remaining = {w.decode() for w in live}
        ack_list = f"{PREFIX}ack:{token}"
        started = time.monotonic()
        # Redis lost its registry less than a lease ago: leases it granted before may live on.
        unseen_until = started + max(0, int(marker) + LEASE_MS - int(now)) / 1000
        while remaining:
            popped = client.blpop([ack_list], timeout=0.05)
            if popped:
                remaining.discard(popped[1].decode())
                continue
            if remaining:
                gone = client.eval(EXPIRED, 1, WORKERS, *sorted(remaining))
                remaining -= {w.decode() for w in gone}
            if remaining and time.monotonic() - started > WAIT_LIMIT_S:
                raise CoherenceError(
                    f"{len(remaining)} web process(es) neither acknowledged nor let their "
                    "cache lease run out"
                )
        pause = unseen_until - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        client.delete(ack_list)
    except CoherenceError:
        raise
    except Exception as exc:  # Redis unreachable: nobody can be told, so nothing may commit
        raise CoherenceError(f"the consent check caches could not be told ({exc})") from exc
    return token, tags


def finish(mark: tuple[str, list[str]] | None) -> None:
    """After the commit (or instead of it): the mark is done; workers may cache again."""
    if mark is None:
        return
    token, tags = mark
    try:
        _writer().eval(DONE, 2, STREAM, PENDING, token, json.dumps(tags))
    except Exception:  # the mark expires by itself after PENDING_TTL_MS
        log.warning("coherence: could not finish mark %s", token, exc_info=True)


def invalidate_before_commit(tags: Iterable[str], *, using=None) -> None:
    """Call inside the transaction that makes the change, after its writes: returns once no
    web process can answer from before it; the mark is finished when the transaction commits.
    Raises CoherenceError (so the transaction rolls back) when that cannot be ensured."""
    if not enabled():
        return
    if not transaction.get_connection(using).in_atomic_block:
        # Outside a transaction the change would already be committed: too late to warn.
        raise RuntimeError("invalidate_before_commit must run inside the changing transaction")
    mark = announce(tags)
    transaction.on_commit(lambda: finish(mark), using=using)


# --- the worker's side -----------------------------------------------------------------------


class LocalCache:
    """This process' cache, its lease and its listener thread."""

    def __init__(self):
        self.id = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.data: dict = {}
        self.by_tag: dict[str, set] = {}
        self.pending: dict[str, tuple[list[str], float]] = {}  # token -> (tags, expires)
        self.pending_tags: set[str] = set()
        self.epoch = 0
        self.deadline = 0.0  # monotonic; the cache is usable before it
        self.position = "0-0"
        self.ready = threading.Event()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="coherence", daemon=True)
        self.thread.start()
        atexit.register(self.stop)

    # Request threads -------------------------------------------------------------------------

    def usable(self) -> bool:
        return time.monotonic() < self.deadline

    def get(self, key):
        if time.monotonic() >= self.deadline:
            return MISSING
        entry = self.data.get(key, MISSING)
        return entry if entry is MISSING else entry[0]

    def put(self, key, value, tags: Iterable[str], epoch: int) -> None:
        """Keep `value` (read from the database after `epoch` was read) unless anything was
        invalidated meanwhile or one of its tags is pending."""
        tags = tuple(tags)
        with self.lock:
            if epoch != self.epoch or not self.usable() or self.pending_tags.intersection(tags):
                return
            if len(self.data) >= MAX_ENTRIES:
                self._clear()
            self.data[key] = (value, tags)
            for tag in tags:
                self.by_tag.setdefault(tag, set()).add(key)

    # The listener ----------------------------------------------------------------------------

    def _clear(self):
        self.data.clear()
        self.by_tag.clear()
        self.epoch += 1

    def _drop(self, tags):
        for tag in tags:
            for key in self.by_tag.pop(tag, ()):
                self.data.pop(key, None)
        self.epoch += 1

    def _refresh_pending_tags(self):
        now = time.monotonic()
        for token in [t for t, (_, expires) in self.pending.items() if expires <= now]:
            del self.pending[token]
        self.pending_tags = {tag for tags, _ in self.pending.values() for tag in tags}

    def _apply(self, fields) -> str | None:
        kind, token = fields[b"kind"].decode(), fields[b"token"].decode()
        tags = json.loads(fields[b"tags"])
        with self.lock:
            self._drop(tags)
            if kind == "pending":
                self.pending[token] = (tags, time.monotonic() + PENDING_TTL_MS / 1000)
            else:
                self.pending.pop(token, None)
            self._refresh_pending_tags()
        return token if kind == "pending" else None

    def _register(self, client) -> None:
        with self.lock:
            self.deadline = 0.0
            self._clear()
        sent = time.monotonic()
        position, marks = client.eval(
            REGISTER, 5, WORKERS, ACKED, PENDING, STREAM, MARKER, self.id, LEASE_MS
        )
        with self.lock:
            for i in range(0, len(marks), 2):
                tags = json.loads(marks[i + 1].decode().split("|", 3)[3])
                self.pending[marks[i].decode()] = (tags, time.monotonic() + PENDING_TTL_MS / 1000)
            self._refresh_pending_tags()
            self.position = position.decode()
            self.deadline = sent + (LEASE_MS - MARGIN_MS) / 1000
        self.ready.set()

    def _run(self):
        client = None
        registered = False
        while not self.stopping:
            try:
                if client is None:
                    client = _redis(socket_timeout=(RENEW_EVERY_MS + 2000) / 1000)
                if not registered:
                    self._register(client)
                    registered = True
                read = client.xread({STREAM: self.position}, block=RENEW_EVERY_MS, count=500)
                acks = []
                for _stream, entries in read or ():
                    for entry_id, fields in entries:
                        token = self._apply(fields)
                        if token:
                            acks.append(token)
                        self.position = entry_id.decode()
                sent = time.monotonic()
                renewed = client.eval(
                    RENEW, 3, WORKERS, ACKED, PENDING,
                    self.id, self.position, LEASE_MS, PREFIX + "ack:", GRACE_MS, *acks,
                )  # fmt: skip
                if renewed:
                    self.deadline = sent + (LEASE_MS - MARGIN_MS) / 1000
                else:
                    registered = False  # lost: empty the cache and register afresh
                    self.deadline = 0.0
                with self.lock:
                    self._refresh_pending_tags()
            except Exception:
                self.deadline = 0.0
                registered = False
                client = None
                if self.stopping:
                    return
                log.warning("coherence: listener lost Redis; reading the database", exc_info=True)
                time.sleep(0.5)

    def stop(self):
        """Leave the registry on the way out, so no writer waits for this lease."""
        self.stopping = True
        self.deadline = 0.0
        if os.getpid() != self.pid:
            return
        try:
            client = _redis(socket_timeout=1, socket_connect_timeout=1)
            client.zrem(WORKERS, self.id)
            client.hdel(ACKED, self.id)
        except Exception:
            pass

    def wait_ready(self, timeout: float = 5.0) -> bool:
        return self.ready.wait(timeout) and self.usable()

    def forget(self) -> None:
        """Empty this process' cache (tests; an operator's nudge)."""
        with self.lock:
            self._clear()


_local: LocalCache | None = None
_local_lock = threading.Lock()


def local() -> LocalCache | None:
    """This process' cache (started on first use, again after a fork); None when off."""
    global _local
    cache = _local
    if cache is not None and cache.pid == os.getpid():
        return cache
    if not caching_enabled():
        return None
    with _local_lock:
        if _local is None or _local.pid != os.getpid():
            _local = LocalCache()
        return _local


# --- models whose rows cached answers depend on ----------------------------------------------


def guard_model(model, tags_of) -> None:
    """Invalidate `tags_of(instance, deleting=...)` (an empty list: nothing cached depends on
    this change) before every save or delete of `model` writes, and finish the mark once the
    write committed.
    Queryset .update() and bulk writes bypass signals: they must call
    `invalidate_before_commit` themselves."""
    from django.db.models import signals

    def before_save(sender, instance, **kwargs):
        tags = tags_of(instance, deleting=False)
        instance._coherence_mark = announce(tags) if tags else None

    def before_delete(sender, instance, **kwargs):
        tags = tags_of(instance, deleting=True)
        instance._coherence_mark = announce(tags) if tags else None

    def after(sender, instance, **kwargs):
        mark = instance.__dict__.pop("_coherence_mark", None)
        if mark is not None:  # in autocommit the write has committed: this runs at once
            transaction.on_commit(lambda: finish(mark))

    uid = f"coherence:{model._meta.label}"
    signals.pre_save.connect(before_save, sender=model, weak=False, dispatch_uid=uid + ":pre_save")
    signals.post_save.connect(after, sender=model, weak=False, dispatch_uid=uid + ":post_save")
    signals.pre_delete.connect(
        before_delete, sender=model, weak=False, dispatch_uid=uid + ":pre_del"
    )
    signals.post_delete.connect(after, sender=model, weak=False, dispatch_uid=uid + ":post_del")
