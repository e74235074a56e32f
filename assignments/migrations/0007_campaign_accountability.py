"""Campaign: what HR prepares and answers for before sending (the role in plain words, the
start date, a named accountable owner, the impact assessment or works-council consultation),
the audience frozen when chosen, and the send's own state (draft -> queued -> sent).

Plain AddField: no trigger refers to the campaign table, so SQLite may rebuild it. Every new
column has a database default (or is nullable), so rows inserted without them (the bench
seeder's COPY) are valid drafts. A campaign that is not a draft must name both its owner and
its assessment (a check constraint).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def text(max_length=None, **extra):
    field = models.CharField if max_length else models.TextField
    kwargs = {"max_length": max_length} if max_length else {}
    return field(blank=True, default="", db_default="", **kwargs, **extra)


class Migration(migrations.Migration):
    dependencies = [
        ("assignments", "0006_proposal_structured_facts"),
        ("people", "0002_employee_language"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="role_description",
            field=text(help_text="What each person would do, in plain words."),
        ),
        migrations.AddField(
            model_name="campaign",
            name="start_date",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="campaign", name="accountable_owner", field=text(max_length=200)
        ),
        migrations.AddField(
            model_name="campaign",
            name="assessment_kind",
            field=text(
                max_length=30,
                choices=[
                    ("impact_assessment", "Impact assessment"),
                    ("works_council", "Works-council consultation"),
                ],
            ),
        ),
        migrations.AddField(
            model_name="campaign", name="assessment_reference", field=text(max_length=300)
        ),
        migrations.AddField(
            model_name="campaign",
            name="state",
            field=models.CharField(
                choices=[("draft", "Draft"), ("queued", "Sending"), ("sent", "Sent")],
                default="draft",
                db_default="draft",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="campaign",
            name="audience",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="campaign", name="audience_label", field=text(max_length=300)
        ),
        migrations.AddField(
            model_name="campaign",
            name="send_errors",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="campaign",
            name="sent_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="campaign",
            name="queued_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="campaign",
            name="sent_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name="campaign",
            constraint=models.CheckConstraint(
                condition=models.Q(state="draft")
                | (~models.Q(accountable_owner="") & ~models.Q(assessment_reference="")),
                name="campaign_sent_with_accountability",
            ),
        ),
    ]
