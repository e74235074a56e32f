"""A proposal's response deadline and start date lie within ten years of when it was made.

The services and forms refuse anything beyond PORTAL_MAX_HORIZON_DAYS (default 730) with a
clear error; this check is the database's backstop for every other path (raw SQL, a bulk
insert), so a year-9999 proposal cannot exist to break the pages that show it. The setting may
be raised up to this ceiling.

PostgreSQL only: on SQLite adding a check constraint rebuilds the table, which the move guards'
triggers refer to by name (the embedded `make run` database relies on the services' check).
"""

from django.db import migrations

CEILING_DAYS = 3660

UP = f"""
ALTER TABLE assignments_proposal ADD CONSTRAINT proposal_dates_within_horizon CHECK (
    response_deadline <= created_at + interval '{CEILING_DAYS} days'
    AND start_date <= CAST(created_at + interval '{CEILING_DAYS} days' AS date)
)
"""
DOWN = "ALTER TABLE assignments_proposal DROP CONSTRAINT IF EXISTS proposal_dates_within_horizon"


def _on_postgres(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("assignments", "0008_proposal_subject_user")]

    operations = [migrations.RunPython(_on_postgres(UP), _on_postgres(DOWN))]
