"""Team and Employee now belong to the people app (people.0001): point every relation at them
and forget the old models, in the migration state only. No table, row or trigger changes."""

import django.db.models.deletion
from django.db import migrations, models


def fk(to, related_name, **extra):
    return models.ForeignKey(
        on_delete=django.db.models.deletion.PROTECT, related_name=related_name, to=to, **extra
    )


class Migration(migrations.Migration):
    dependencies = [
        ("assignments", "0003_employee_on_leave_since"),
        ("people", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="campaign",
                    name="target_teams",
                    field=models.ManyToManyField(blank=True, related_name="campaigns", to="people.team"),
                ),
                migrations.AlterField(
                    model_name="proposal", name="employee", field=fk("people.employee", "proposals")
                ),
                migrations.AlterField(
                    model_name="proposal",
                    name="from_team",
                    field=fk("people.team", "+", null=True, blank=True),
                ),
                migrations.AlterField(
                    model_name="proposal",
                    name="to_team",
                    field=fk("people.team", "incoming_proposals"),
                ),
                migrations.AlterField(
                    model_name="placementrequest",
                    name="employee",
                    field=fk("people.employee", "placement_requests"),
                ),
                migrations.AlterField(
                    model_name="placementpreference", name="team", field=fk("people.team", "+")
                ),
                migrations.AlterField(
                    model_name="move", name="employee", field=fk("people.employee", "moves")
                ),
                migrations.AlterField(
                    model_name="move",
                    name="from_team",
                    field=fk("people.team", "+", null=True, blank=True),
                ),
                migrations.AlterField(
                    model_name="move", name="to_team", field=fk("people.team", "+")
                ),
                migrations.DeleteModel(name="Employee"),
                migrations.DeleteModel(name="Team"),
            ],
            database_operations=[],
        ),
    ]
