"""The database itself rejects UPDATE and DELETE on the consent ledger.

`ConsentRecord.save()` has a friendly guard too, but raw SQL, bulk updates and the admin's
shell never call it; this trigger is the guarantee. (TRUNCATE is left to the table owner,
like DROP TABLE: only a database administrator can do either.)
"""

from django.db import migrations

MESSAGE = "consent records are append-only"

POSTGRES_UP = f"""
CREATE OR REPLACE FUNCTION consent_ledger_reject_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}: % refused on record %', TG_OP, OLD.id
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER consent_ledger_append_only
    BEFORE UPDATE OR DELETE ON consent_consentrecord
    FOR EACH ROW EXECUTE FUNCTION consent_ledger_reject_change();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS consent_ledger_append_only ON consent_consentrecord;
DROP FUNCTION IF EXISTS consent_ledger_reject_change();
"""
SQLITE_UP = [
    f"""CREATE TRIGGER consent_ledger_no_update BEFORE UPDATE ON consent_consentrecord
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE refused'); END;""",
    f"""CREATE TRIGGER consent_ledger_no_delete BEFORE DELETE ON consent_consentrecord
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}: DELETE refused'); END;""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS consent_ledger_no_update;",
    "DROP TRIGGER IF EXISTS consent_ledger_no_delete;",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor)
        if statements is None:
            raise RuntimeError(
                f"no ledger trigger for {schema_editor.connection.vendor}; "
                "use PostgreSQL or SQLite"
            )
        for sql in [statements] if isinstance(statements, str) else statements:
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES_UP, "sqlite": SQLITE_UP}),
            _run({"postgresql": POSTGRES_DOWN, "sqlite": SQLITE_DOWN}),
        )
    ]
