"""Proposal: the structured facts people compare offers by (grade, pay band change, location,
new manager, expected duration, a named contact for questions). They are part of the hashed
terms from format 3 on.

Added with plain ALTER TABLE ADD COLUMN: on SQLite Django would rebuild the table, which the
move guards' triggers (0002, 0005) refer to by name. Empty means "not stated": proposals made
before this migration did not state these facts, and their documents do not either.
"""

from django.db import migrations, models

COLUMNS = [
    # (name, SQL type, field)
    ("grade", "varchar(60)", models.CharField(blank=True, default="", max_length=60)),
    (
        "pay_band_change",
        "varchar(10)",
        models.CharField(
            blank=True,
            default="",
            max_length=10,
            choices=[
                ("none", "No change"),
                ("up", "Higher pay band"),
                ("down", "Lower pay band"),
            ],
        ),
    ),
    ("location", "varchar(120)", models.CharField(blank=True, default="", max_length=120)),
    ("new_manager", "varchar(200)", models.CharField(blank=True, default="", max_length=200)),
    (
        "expected_duration",
        "varchar(120)",
        models.CharField(blank=True, default="", max_length=120),
    ),
    ("contact_name", "varchar(200)", models.CharField(blank=True, default="", max_length=200)),
    ("contact_email", "varchar(254)", models.EmailField(blank=True, default="", max_length=254)),
]


class Migration(migrations.Migration):
    dependencies = [("assignments", "0005_terms_documents")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(model_name="proposal", name=name, field=field)
                for name, _sql_type, field in COLUMNS
            ],
            database_operations=[
                migrations.RunSQL(
                    f"ALTER TABLE assignments_proposal "
                    f"ADD COLUMN {name} {sql_type} NOT NULL DEFAULT ''",
                    f"ALTER TABLE assignments_proposal DROP COLUMN {name}",
                )
                for name, sql_type, _field in COLUMNS
            ],
        ),
    ]
