"""Employee.language. Added with plain ALTER TABLE ADD COLUMN: on SQLite Django would rebuild
the table, which the move guards' triggers (assignments.0002) refer to by name."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial"), ("assignments", "0004_people_own_team_and_employee")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="employee",
                    name="language",
                    field=models.CharField(blank=True, max_length=10),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE assignments_employee "
                    "ADD COLUMN language varchar(10) NOT NULL DEFAULT ''",
                    "ALTER TABLE assignments_employee DROP COLUMN language",
                ),
            ],
        ),
    ]
