# The access log: who read whose consent data. As permanent as the ledger it audits.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MESSAGE = "access log entries are append-only"
POSTGRES_UP = f"""
CREATE OR REPLACE FUNCTION consent_access_log_reject_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}: % refused', TG_OP USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER consent_access_log_append_only
    BEFORE UPDATE OR DELETE ON consent_accesslogentry
    FOR EACH ROW EXECUTE FUNCTION consent_access_log_reject_change();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS consent_access_log_append_only ON consent_accesslogentry;
DROP FUNCTION IF EXISTS consent_access_log_reject_change();
"""
SQLITE_UP = [
    f"""CREATE TRIGGER consent_access_log_no_update BEFORE UPDATE ON consent_accesslogentry
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE refused'); END;""",
    f"""CREATE TRIGGER consent_access_log_no_delete BEFORE DELETE ON consent_accesslogentry
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}: DELETE refused'); END;""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS consent_access_log_no_update;",
    "DROP TRIGGER IF EXISTS consent_access_log_no_delete;",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor[schema_editor.connection.vendor]
        for sql in [statements] if isinstance(statements, str) else statements:
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('consent', '0004_terms_document'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AccessLogEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField(default=django.utils.timezone.now)),
                ('channel', models.CharField(choices=[('web', 'Web page'), ('api', 'API'), ('export', 'Export')], default='web', max_length=16)),
                ('page', models.CharField(max_length=500)),
                ('purpose', models.TextField(blank=True)),
                ('subject', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='access_log_entries', to=settings.AUTH_USER_MODEL)),
                ('viewer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name_plural': 'access log entries',
                'ordering': ['-at', '-id'],
                'indexes': [models.Index(fields=['subject', 'at'], name='access_log_subject_at_idx')],
            },
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRES_UP, "sqlite": SQLITE_UP}),
            _run({"postgresql": POSTGRES_DOWN, "sqlite": SQLITE_DOWN}),
        ),
    ]
