"""Ledger format 2, step 1 of 3: the columns and tables (data keys, epochs), nothing moved yet.

0007 re-chains every existing record into format 2 (sealing its private reason), 0008 drops
the plaintext column and restores the append-only triggers SQLite loses when a table is
rebuilt. Format, sequence number and sealed reason start empty here and are filled by 0007.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

EPOCH_MESSAGE = "ledger epochs are append-only"
POSTGRES_UP = f"""
CREATE OR REPLACE FUNCTION consent_epoch_reject_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{EPOCH_MESSAGE}: % refused', TG_OP USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER consent_epoch_append_only
    BEFORE UPDATE OR DELETE ON consent_ledgerepoch
    FOR EACH ROW EXECUTE FUNCTION consent_epoch_reject_change();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS consent_epoch_append_only ON consent_ledgerepoch;
DROP FUNCTION IF EXISTS consent_epoch_reject_change();
"""
SQLITE_UP = [
    f"""CREATE TRIGGER consent_epoch_no_update BEFORE UPDATE ON consent_ledgerepoch
        BEGIN SELECT RAISE(ABORT, '{EPOCH_MESSAGE}: UPDATE refused'); END;""",
    f"""CREATE TRIGGER consent_epoch_no_delete BEFORE DELETE ON consent_ledgerepoch
        BEGIN SELECT RAISE(ABORT, '{EPOCH_MESSAGE}: DELETE refused'); END;""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS consent_epoch_no_update;",
    "DROP TRIGGER IF EXISTS consent_epoch_no_delete;",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor[schema_editor.connection.vendor]
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

    dependencies = [
        ('consent', '0005_access_log'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(_sqlite_legacy_alter_table(True), _sqlite_legacy_alter_table(False)),
        migrations.CreateModel(
            name='SubjectKey',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('wrapped', models.BinaryField(blank=True)),
                ('master_key_id', models.CharField(blank=True, max_length=16)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('erased_at', models.DateTimeField(blank=True, null=True)),
                ('subject', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'constraints': [models.UniqueConstraint(condition=models.Q(('erased_at__isnull', True)), fields=('subject',), name='consent_one_live_key_per_subject')],
            },
        ),
        migrations.CreateModel(
            name='LedgerEpoch',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('format', models.PositiveSmallIntegerField()),
                ('previous_format', models.PositiveSmallIntegerField()),
                ('records', models.PositiveBigIntegerField()),
                ('old_head_hash', models.CharField(max_length=64)),
                ('new_head_hash', models.CharField(max_length=64)),
                ('at', models.DateTimeField(default=django.utils.timezone.now)),
                ('note', models.TextField(blank=True)),
            ],
            options={
                'ordering': ['id'],
            },
        ),
        migrations.AddField(
            model_name='consentrecord',
            name='format',
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AddField(
            model_name='consentrecord',
            name='seq',
            field=models.PositiveBigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name='consentrecord',
            name='legacy_hash',
            field=models.CharField(blank=True, db_index=True, default='', max_length=64),
        ),
        migrations.AddField(
            model_name='consentrecord',
            name='reason_ciphertext',
            field=models.TextField(blank=True, default=''),
        ),
        migrations.AddField(
            model_name='consentrecord',
            name='reason_key',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='consent.subjectkey'),
        ),
        migrations.RunPython(_sqlite_legacy_alter_table(False), _sqlite_legacy_alter_table(True)),
        migrations.RunPython(
            _run({"postgresql": POSTGRES_UP, "sqlite": SQLITE_UP}),
            _run({"postgresql": POSTGRES_DOWN, "sqlite": SQLITE_DOWN}),
        ),
    ]
