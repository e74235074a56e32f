"""Team.description: what the team does, shown to people choosing where to go after an undraft.
Added with plain ALTER TABLE ADD COLUMN, like 0002: on SQLite Django would rebuild the table."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("people", "0002_employee_language")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="team",
                    name="description",
                    field=models.TextField(blank=True, default=""),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE assignments_team ADD COLUMN description text NOT NULL DEFAULT ''",
                    "ALTER TABLE assignments_team DROP COLUMN description",
                ),
            ],
        ),
    ]
