"""An employee's account link (`Employee.user`) is fixed once the person has records.

Pointing a person's record at another account would let whoever holds that account read their
proposals, decide "as" them and be moved in their place. Once the person has any consent
record (as subject), proposal or move, the database refuses to change `user_id`, raw SQL and
the admin included. A person with no records yet (a fresh SCIM import) can still be linked.

The tables are named here, not imported: the records floor knows nothing of the workflows.
"""

from django.db import migrations

HAS_RECORDS = """(
    EXISTS (SELECT 1 FROM consent_consentrecord r WHERE r.subject_id = OLD.user_id)
    OR EXISTS (SELECT 1 FROM assignments_proposal p WHERE p.employee_id = OLD.id)
    OR EXISTS (SELECT 1 FROM assignments_move m WHERE m.employee_id = OLD.id)
)"""

MESSAGE = (
    "an employee's account link is fixed once they have consent records, proposals or moves"
)
QUOTED = MESSAGE.replace("'", "''")

POSTGRES_UP = f"""
CREATE OR REPLACE FUNCTION people_employee_account_fixed() RETURNS trigger AS $$
BEGIN
    IF NEW.user_id IS DISTINCT FROM OLD.user_id AND {HAS_RECORDS} THEN
        RAISE EXCEPTION '{QUOTED}' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER people_employee_account_fixed
    BEFORE UPDATE OF user_id ON assignments_employee
    FOR EACH ROW EXECUTE FUNCTION people_employee_account_fixed();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS people_employee_account_fixed ON assignments_employee;
DROP FUNCTION IF EXISTS people_employee_account_fixed();
"""
SQLITE_UP = [
    f"""CREATE TRIGGER people_employee_account_fixed BEFORE UPDATE OF user_id
        ON assignments_employee
        WHEN NEW.user_id IS NOT OLD.user_id AND {HAS_RECORDS}
        BEGIN SELECT RAISE(ABORT, '{QUOTED}'); END;"""
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS people_employee_account_fixed;"]


def _run(postgres, sqlite):
    def run(apps, schema_editor):
        statements = postgres if schema_editor.connection.vendor == "postgresql" else sqlite
        for sql in [statements] if isinstance(statements, str) else statements:
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    # The tables the condition names exist before the trigger does (SQLite checks).
    dependencies = [
        ("people", "0005_scim_records"),
        ("consent", "0002_ledger_append_only"),
        ("assignments", "0002_move_guards"),
    ]

    operations = [
        migrations.RunPython(_run(POSTGRES_UP, SQLITE_UP), _run(POSTGRES_DOWN, SQLITE_DOWN)),
    ]
