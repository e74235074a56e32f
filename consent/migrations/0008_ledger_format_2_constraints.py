"""Ledger format 2, step 3 of 3: no plaintext column, every record numbered, triggers back.

SQLite rebuilds a table to add or drop columns and the rebuilt table has no triggers, so the
append-only triggers of 0002 are created again here; PostgreSQL keeps them. TRUNCATE stays
the owner's, as before (test runs flush tables with it): the application role holds no TRUNCATE
privilege, and a checkpoint (`verify_ledger --checkpoint`) catches a truncation anyway.
"""

from django.db import migrations, models

MESSAGE = "consent records are append-only"

SQLITE_UP = [
    f"""CREATE TRIGGER IF NOT EXISTS consent_ledger_no_update BEFORE UPDATE
        ON consent_consentrecord BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE refused'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS consent_ledger_no_delete BEFORE DELETE
        ON consent_consentrecord BEGIN SELECT RAISE(ABORT, '{MESSAGE}: DELETE refused'); END;""",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor, [])
        for sql in [statements] if isinstance(statements, str) else statements:
            schema_editor.execute(sql, params=None)

    return run


def _sqlite_legacy_alter_table(on: bool):
    """SQLite rebuilds the ledger's table to change its columns, and renaming the rebuilt
    table re-parses every trigger naming it: assignments' move guard (a trigger on another
    table) would fail mid-rebuild. The legacy mode leaves other tables' triggers alone."""

    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            schema_editor.execute(f"PRAGMA legacy_alter_table = {'ON' if on else 'OFF'}")

    return run


class Migration(migrations.Migration):
    dependencies = [("consent", "0007_rechain_ledger_format_2")]

    operations = [
        migrations.RunPython(_sqlite_legacy_alter_table(True), _sqlite_legacy_alter_table(False)),
        migrations.RemoveField(model_name="consentrecord", name="private_reason"),
        migrations.AlterField(
            model_name="consentrecord",
            name="seq",
            field=models.PositiveBigIntegerField(unique=True),
        ),
        migrations.AlterField(
            model_name="consentrecord",
            name="format",
            field=models.PositiveSmallIntegerField(default=2),
        ),
        migrations.RunPython(_sqlite_legacy_alter_table(False), _sqlite_legacy_alter_table(True)),
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP}),
            migrations.RunPython.noop,
        ),
    ]
