"""people.ScimRecord: what SCIM clients wrote beyond the portal's own columns, and the SCIM
metadata of each provisioned person and team (see the model's docstring)."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("people", "0004_team_change_guard")]

    operations = [
        migrations.CreateModel(
            name="ScimRecord",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("attributes", models.JSONField(blank=True, default=dict)),
                ("user_name_key", models.CharField(blank=True, max_length=150, null=True, unique=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("deleted_at", models.DateTimeField(blank=True, null=True)),
                ("employee", models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="scim", to="people.employee")),
                ("team", models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="scim", to="people.team")),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(models.Q(("employee__isnull", False), ("team__isnull", True)), models.Q(("employee__isnull", True), ("team__isnull", False)), _connector="OR"),
                        name="scimrecord_person_or_team",
                    )
                ],
            },
        ),
    ]
