"""Each person's latest answer to a campaign, read in order and index-only by the "no adverse
consequence" dashboard (reports.selectors.outcomes_by_answer_sql)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("assignments", "0009_proposal_date_horizon"),
        ("people", "0006_employee_account_fixed_once_recorded"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="proposal",
            index=models.Index(
                condition=models.Q(
                    ("campaign__isnull", False),
                    ("decided_at__isnull", False),
                    ("state__in", ["opted_in", "effective", "opted_out"]),
                ),
                fields=["employee", "-decided_at", "-id"],
                include=("state", "kind"),
                name="proposal_latest_answer_idx",
            ),
        ),
    ]
