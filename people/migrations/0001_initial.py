"""Team and Employee move here from assignments, state only: the tables, their rows and the
database guards written against them stay exactly as they were."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _relabel_content_types(apps, schema_editor):
    # Keep admin history and permissions attached to the moved models.
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("team", "employee"):
        if not ContentType.objects.filter(app_label="people", model=model).exists():
            ContentType.objects.filter(app_label="assignments", model=model).update(
                app_label="people"
            )


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("assignments", "0003_employee_on_leave_since"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Team",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=200)),
                        ("slug", models.SlugField(max_length=100, unique=True)),
                        ("kind", models.CharField(choices=[("regular", "Regular team"), ("ai_initiative", "AI initiative")], default="regular", max_length=20)),
                        ("headcount_target", models.PositiveIntegerField(default=0)),
                        ("external_id", models.CharField(blank=True, max_length=100, null=True, unique=True)),
                    ],
                    options={"ordering": ["name"], "db_table": "assignments_team"},
                ),
                migrations.CreateModel(
                    name="Employee",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("external_id", models.CharField(blank=True, max_length=100, null=True, unique=True)),
                        ("name", models.CharField(max_length=200)),
                        ("email", models.EmailField(max_length=254, unique=True)),
                        ("title", models.CharField(blank=True, max_length=200)),
                        ("is_active", models.BooleanField(default=True)),
                        ("time_zone", models.CharField(default="UTC", max_length=64)),
                        ("on_leave_since", models.DateTimeField(blank=True, null=True)),
                        ("manager", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="reports", to="people.employee")),
                        ("team", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="members", to="people.team")),
                        ("user", models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name="employee", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "ordering": ["name"],
                        "db_table": "assignments_employee",
                        "indexes": [models.Index(fields=["manager"], name="employee_manager_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(_relabel_content_types, migrations.RunPython.noop),
    ]
