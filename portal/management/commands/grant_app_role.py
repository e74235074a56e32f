"""Set up the database role the portal runs as (README, "Database roles").

Run as the owner of the tables, after every `migrate` (docker-compose's `migrate` service does
both): it creates the role when missing, sets its password from an environment variable when
one is named, and grants again from scratch, so new tables are covered and nothing granted by
hand survives.
"""

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import ProgrammingError, connections, transaction
from psycopg import sql

from portal.dbroles import append_only_tables, tables


class Command(BaseCommand):
    help = (
        "Create or update the portal's database role: read and write rows, but only SELECT "
        "and INSERT on the ledger and the other append-only tables."
    )

    def add_arguments(self, parser):
        parser.add_argument("--role", default="portal_app", help="the role (default portal_app)")
        parser.add_argument(
            "--password-env",
            metavar="NAME",
            help="environment variable holding the role's password (sets it; creates the role "
            "with LOGIN when missing)",
        )
        parser.add_argument("--database", default="default", help="database alias to connect as")

    def handle(self, *args, role, password_env, database, **options):
        connection = connections[database]
        if connection.vendor != "postgresql":
            raise CommandError(
                f"grant_app_role is for PostgreSQL; the {database!r} database is "
                f"{connection.vendor}, where there are no roles to grant"
            )
        password = None
        if password_env:
            password = os.environ.get(password_env)
            if not password:
                raise CommandError(f"{password_env} is empty: set it to the role's password")
        with transaction.atomic(using=database), connection.cursor() as cursor:
            cursor.execute(
                "SELECT rolsuper, rolname = current_user FROM pg_roles WHERE rolname = %s", [role]
            )
            found = cursor.fetchone()
            if found and found[1]:
                raise CommandError(
                    f"{role} is the role this command connects as: connect as the tables' "
                    "owner (DATABASE_MIGRATE_URL) and name a different role for the portal"
                )
            if found and found[0]:
                raise CommandError(f"{role} is a superuser: it could rewrite the ledger")
            name = sql.Identifier(role)
            try:
                if not found:
                    cursor.execute(
                        sql.SQL("CREATE ROLE {} NOSUPERUSER NOCREATEDB NOCREATEROLE {}").format(
                            name, sql.SQL("LOGIN" if password else "NOLOGIN")
                        )
                    )
                if password:
                    cursor.execute(
                        sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
                            name, sql.Literal(password)
                        )
                    )
            except ProgrammingError as exc:
                raise CommandError(
                    f"could not {'set up' if found else 'create'} the role {role} ({exc}). "
                    f"Have a superuser run `CREATE ROLE {role} LOGIN PASSWORD '...'` once, or "
                    "give the owner CREATEROLE; then run this again without --password-env"
                ) from exc
            everything = tables(database)
            append_only = append_only_tables(database)
            writable = [t for t in everything if t not in append_only]
            cursor.execute("SELECT current_database(), current_schema()")
            database_name, schema = cursor.fetchone()
            statements = [
                sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
                    sql.Identifier(database_name), name
                ),
                sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), name),
                # Nobody but the owner creates objects here (PostgreSQL 15 already does so).
                sql.SQL("REVOKE CREATE ON SCHEMA {} FROM PUBLIC").format(sql.Identifier(schema)),
                sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(
                    sql.Identifier(schema), name
                ),
                sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(
                    sql.Identifier(schema), name
                ),
            ]
            for privileges, group in (
                ("SELECT, INSERT, UPDATE, DELETE", writable),
                ("SELECT, INSERT", append_only),
            ):
                if group:
                    statements.append(
                        sql.SQL("GRANT {} ON {} TO {}").format(
                            sql.SQL(privileges),
                            sql.SQL(", ").join(sql.Identifier(t) for t in group),
                            name,
                        )
                    )
            for statement in statements:
                cursor.execute(statement)
        self.stdout.write(
            f"{role}: reads and writes {len(writable)} tables; SELECT and INSERT only on "
            f"{len(append_only)}: {', '.join(append_only)}"
        )
