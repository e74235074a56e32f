"""Hot read paths' SQL as prepared statements (PostgreSQL).

The project's cursors bind parameters on the client, so PostgreSQL plans every statement
anew; for a statement a check runs thousands of times a second that planning costs more than
the execution. A server-binding psycopg cursor lets psycopg prepare it once per connection
(after its prepare threshold), and Django's own wrapper keeps it counted and logged like any
other query (django_assert_num_queries, the debug toolbar, execute_wrappers).
"""

from django.db import connection


def fetchone(sql: str, params: dict) -> tuple | None:
    return _fetch(sql, params, lambda cursor: cursor.fetchone())


def fetchall(sql: str, params: dict) -> list[tuple]:
    return _fetch(sql, params, lambda cursor: cursor.fetchall())


def _fetch(sql: str, params: dict, fetch):
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return fetch(cursor)
    import psycopg

    connection.ensure_connection()
    native = connection.connection
    if native.prepare_threshold is None:
        # Django turns psycopg's preparing off (poolers in transaction mode used to break on
        # it); only server-binding cursors, so only these statements, are ever prepared.
        native.prepare_threshold = 2
    raw = psycopg.Cursor(native)
    with connection._prepare_cursor(raw) as cursor:
        cursor.execute(sql, params)
        return fetch(cursor)
