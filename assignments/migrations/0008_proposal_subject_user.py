"""The person a proposal was made to is recorded when it is made, and the move guard binds to it.

Before this, the move guard compared the opt-in record's subject with the employee's account
*today* (`assignments_employee.user_id`): an admin who pointed an Employee at their own account
could opt in "as" that person and be moved, and the ledger still verified.

1. `assignments_proposal.subject_user_id`: the employee's account at the moment the proposal
   row is inserted, filled in by the database on every insert path (the services, bulk
   inserts, the bench seeder's COPY) and never changed afterwards (UPDATE refused). Existing
   proposals get their employee's current account.
2. The move guard: the opt-in's subject must be that recorded account, whatever the
   employee's account link says now (people/migrations/0006 also fixes that link once the
   person has records).

Added with plain ALTER TABLE ADD COLUMN: on SQLite Django would rebuild the table, which the
move guards' triggers (0002, 0005) refer to by name.
"""

import importlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

terms_guards = importlib.import_module("assignments.migrations.0005_terms_documents")

SUBJECT_THEN = "r.subject_id = p.subject_user_id"
LIVE_OPT_IN = terms_guards.LIVE_OPT_IN.replace("r.subject_id = e.user_id", SUBJECT_THEN)
assert LIVE_OPT_IN != terms_guards.LIVE_OPT_IN

FIXED_MESSAGE = "the subject of a proposal is recorded when it is made and never changes"

POSTGRES_UP = f"""
ALTER TABLE assignments_proposal ADD COLUMN subject_user_id integer NULL
    REFERENCES auth_user (id) DEFERRABLE INITIALLY DEFERRED;
UPDATE assignments_proposal p SET subject_user_id = e.user_id
    FROM assignments_employee e WHERE e.id = p.employee_id;

CREATE OR REPLACE FUNCTION assignments_proposal_record_subject() RETURNS trigger AS $$
BEGIN
    -- Whoever the caller named, the subject is the employee's account right now.
    SELECT e.user_id INTO NEW.subject_user_id
        FROM assignments_employee e WHERE e.id = NEW.employee_id;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER assignments_proposal_record_subject
    BEFORE INSERT ON assignments_proposal
    FOR EACH ROW EXECUTE FUNCTION assignments_proposal_record_subject();

CREATE OR REPLACE FUNCTION assignments_proposal_subject_fixed() RETURNS trigger AS $$
BEGIN
    IF NEW.subject_user_id IS DISTINCT FROM OLD.subject_user_id THEN
        RAISE EXCEPTION '{FIXED_MESSAGE}' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER assignments_proposal_subject_fixed
    BEFORE UPDATE OF subject_user_id ON assignments_proposal
    FOR EACH ROW EXECUTE FUNCTION assignments_proposal_subject_fixed();
"""

POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS assignments_proposal_subject_fixed ON assignments_proposal;
DROP FUNCTION IF EXISTS assignments_proposal_subject_fixed();
DROP TRIGGER IF EXISTS assignments_proposal_record_subject ON assignments_proposal;
DROP FUNCTION IF EXISTS assignments_proposal_record_subject();
ALTER TABLE assignments_proposal DROP COLUMN subject_user_id;
"""

SQLITE_UP = [
    "ALTER TABLE assignments_proposal ADD COLUMN subject_user_id integer NULL "
    "REFERENCES auth_user (id) DEFERRABLE INITIALLY DEFERRED;",
    "UPDATE assignments_proposal SET subject_user_id = (SELECT e.user_id FROM "
    "assignments_employee e WHERE e.id = assignments_proposal.employee_id);",
    # SQLite cannot assign NEW in a BEFORE trigger: the row is completed right after insert.
    """CREATE TRIGGER assignments_proposal_record_subject AFTER INSERT ON assignments_proposal
        BEGIN UPDATE assignments_proposal SET subject_user_id = (
            SELECT e.user_id FROM assignments_employee e WHERE e.id = NEW.employee_id
        ) WHERE id = NEW.id; END;""",
    f"""CREATE TRIGGER assignments_proposal_subject_fixed BEFORE UPDATE OF subject_user_id
        ON assignments_proposal
        WHEN OLD.subject_user_id IS NOT NULL
            AND NEW.subject_user_id IS NOT OLD.subject_user_id
        BEGIN SELECT RAISE(ABORT, '{FIXED_MESSAGE}'); END;""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS assignments_proposal_subject_fixed;",
    "DROP TRIGGER IF EXISTS assignments_proposal_record_subject;",
    "ALTER TABLE assignments_proposal DROP COLUMN subject_user_id;",
]


def _run(postgres, sqlite):
    def run(apps, schema_editor):
        statements = postgres if schema_editor.connection.vendor == "postgresql" else sqlite
        for sql in [statements] if isinstance(statements, str) else statements:
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("assignments", "0007_campaign_accountability"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="proposal",
                    name="subject_user",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(_run(POSTGRES_UP, SQLITE_UP), _run(POSTGRES_DOWN, SQLITE_DOWN)),
            ],
        ),
        migrations.RunPython(
            terms_guards._guard(LIVE_OPT_IN), terms_guards._guard(terms_guards.LIVE_OPT_IN)
        ),
    ]
