"""Dashboards read from a replica when one is configured; everything else uses the primary.

settings.DATABASE_ROUTERS names `ReplicaRouter`. With DATABASE_REPLICA_URL set there is a
`replica` database alias (a PostgreSQL streaming replica), and code inside
`reading_from_replica()` (the dashboard and export views, see `replica_reads`) reads there,
so HR's heavy aggregates never compete with a decision being recorded on the primary. Every
write goes to the primary, also inside the block (the access log written by a drill-down).
Without a replica the alias is the primary itself and nothing changes.
"""

import contextvars
import functools
from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

REPLICA = "replica"
_reading = contextvars.ContextVar("reports_reading_from_replica", default=False)


def replica_alias() -> str:
    """The database dashboards read from: the replica when configured, else the primary."""
    return REPLICA if REPLICA in settings.DATABASES else DEFAULT_DB_ALIAS


@contextmanager
def reading_from_replica():
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


def replica_reads(view):
    """Run a view's reads on the replica (the session and the user were read before it, by
    the middleware, on the primary)."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        with reading_from_replica():
            return view(request, *args, **kwargs)

    return wrapped


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if _reading.get():
            return replica_alias()
        return None  # Django's default: the primary, or the database an instance came from

    def db_for_write(self, model, **hints):
        # Never the replica, not even for an instance read from it.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # The replica holds the primary's rows: an object from one may point at the other's.
        databases = {obj1._state.db, obj2._state.db}
        return True if databases <= {DEFAULT_DB_ALIAS, REPLICA} else None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # A streaming replica follows the primary's schema; it is never migrated itself.
        return False if db == REPLICA else None
