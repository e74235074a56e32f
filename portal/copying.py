"""Bulk inserts with PostgreSQL COPY: the one way rows are copied into a table.

The expiry sweep and a campaign's send write thousands of rows of one kind at once (ledger
records, notifications, outbox events, proposal events, access-log entries). COPY takes them
several times faster than a multi-row INSERT with one bound parameter per cell, and needs no
model instance per row. It is an insert like any other: constraints, defaults the caller
leaves out, unique indexes and insert triggers all apply, inside the caller's transaction.

PostgreSQL only (`available()`): on SQLite (`make run`) callers use Django's bulk_create.
"""

from collections.abc import Iterable, Sequence

from django.db import connection


def available() -> bool:
    return connection.vendor == "postgresql"


def copy_rows(model, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Copy `rows` (each a sequence of values in `columns`' order) into `model`'s table and
    return how many there were. JSON columns take already encoded text."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(column) for column in columns)
    written = 0
    # The psycopg cursor under Django's, so the copy is part of the open transaction.
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
            written += 1
    return written
