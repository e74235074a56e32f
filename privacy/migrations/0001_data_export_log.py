# The log of people's exports of their own data: as permanent as the access log beside it.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MESSAGE = "logged exports are append-only"
POSTGRES_UP = f"""
CREATE OR REPLACE FUNCTION privacy_export_log_reject_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}: % refused', TG_OP USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER privacy_export_log_append_only
    BEFORE UPDATE OR DELETE ON privacy_dataexport
    FOR EACH ROW EXECUTE FUNCTION privacy_export_log_reject_change();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS privacy_export_log_append_only ON privacy_dataexport;
DROP FUNCTION IF EXISTS privacy_export_log_reject_change();
"""
SQLITE_UP = [
    f"""CREATE TRIGGER privacy_export_log_no_update BEFORE UPDATE ON privacy_dataexport
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE refused'); END;""",
    f"""CREATE TRIGGER privacy_export_log_no_delete BEFORE DELETE ON privacy_dataexport
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}: DELETE refused'); END;""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS privacy_export_log_no_update;",
    "DROP TRIGGER IF EXISTS privacy_export_log_no_delete;",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor)
        if statements is None:
            raise RuntimeError(
                f"no export-log trigger for {schema_editor.connection.vendor}; "
                "use PostgreSQL or SQLite"
            )
        for sql in [statements] if isinstance(statements, str) else statements:
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="DataExport",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                ("ip_address", models.GenericIPAddressField(blank=True, null=True)),
                ("user_agent", models.TextField(blank=True)),
                ("person", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="data_exports", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "verbose_name": "export of one's own data",
                "ordering": ["-at", "-id"],
                "indexes": [models.Index(fields=["person", "at"], name="privacy_export_person_at_idx")],
            },
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRES_UP, "sqlite": SQLITE_UP}),
            _run({"postgresql": POSTGRES_DOWN, "sqlite": SQLITE_DOWN}),
        ),
    ]
