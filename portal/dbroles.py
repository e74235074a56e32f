"""PostgreSQL roles: the portal runs as a role that may only append to the ledger.

Migrations run as the owner of the tables (DATABASE_MIGRATE_URL); the web, worker and beat
processes connect as the application role (DATABASE_URL), which `grant_app_role` sets up after
each migration. On the append-only tables that role holds SELECT and INSERT only: it cannot
UPDATE, DELETE or TRUNCATE them, and, not owning them, cannot disable or drop their triggers or
alter the tables. Everywhere else it reads and writes rows; it holds no TRUNCATE, REFERENCES
or TRIGGER privilege on any table and cannot create any.
"""

from django.db import connections

# The ledger by name (consent's tables: records, the terms documents they point at, the access
# log). Tables added later are found by their guard instead: every append-only table carries a
# BEFORE UPDATE trigger, on every column, whose function is named `<table>_reject_change`.
LEDGER_TABLES = ("consent_consentrecord", "consent_termsdocument", "consent_accesslogentry")

_WRITES = ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER")
_TABLES_SQL = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY c.relname
"""
_GUARDED_SQL = r"""
SELECT DISTINCT c.relname
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_proc p ON p.oid = t.tgfoid
WHERE n.nspname = current_schema() AND NOT t.tgisinternal
  AND p.proname LIKE '%\_reject\_change'
  AND (t.tgtype & 16) <> 0            -- fires on UPDATE
  AND cardinality(t.tgattr::int2[]) = 0  -- of any column
  AND t.tgqual IS NULL                -- always
"""


def tables(using: str = "default") -> list[str]:
    with connections[using].cursor() as cursor:
        cursor.execute(_TABLES_SQL)
        return [name for (name,) in cursor.fetchall()]


def append_only_tables(using: str = "default") -> list[str]:
    """The ledger tables that exist, and every other table guarded as append-only."""
    existing = set(tables(using))
    with connections[using].cursor() as cursor:
        cursor.execute(_GUARDED_SQL)
        guarded = {name for (name,) in cursor.fetchall()}
    return sorted((set(LEDGER_TABLES) & existing) | guarded)


def ledger_role_problems(using: str = "default") -> list[str]:
    """What the connected role could do to rewrite the ledger; empty when it cannot."""
    problems = []
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
        user, superuser, _ = cursor.fetchone()
        if superuser:
            return [f"{user} is a superuser"]
        cursor.execute(
            "SELECT c.relname, pg_get_userbyid(c.relowner), pg_has_role(current_user, c.relowner, "
            "'USAGE'), has_table_privilege(c.oid, 'UPDATE'), has_table_privilege(c.oid, 'DELETE'),"
            " has_table_privilege(c.oid, 'TRUNCATE'), has_table_privilege(c.oid, 'TRIGGER') "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relname = ANY(%s)",
            [list(append_only_tables(using))],
        )
        for table, owner, acts_as_owner, *privileges in cursor.fetchall():
            if acts_as_owner:
                problems.append(f"{user} owns {table} (or acts as its owner {owner})")
                continue
            held = [name for name, has in zip(_WRITES, privileges, strict=True) if has]
            if held:
                problems.append(f"{user} may {', '.join(held)} {table}")
    return problems
