"""Each webhook endpoint gets its own account (never signed in), under which what it is sent
about a person appears in that person's access log; existing endpoints get theirs here."""

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def give_endpoints_accounts(apps, schema_editor):
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    Endpoint = apps.get_model("webhooks", "WebhookEndpoint")
    for endpoint in Endpoint.objects.filter(service_user__isnull=True):
        endpoint.service_user = User.objects.create(
            username=f"webhook-{uuid.uuid4().hex[:12]}",
            first_name=(endpoint.description or endpoint.url)[:150],
            password="!",  # unusable: nobody signs in as an endpoint
            is_active=False,
        )
        endpoint.save(update_fields=["service_user"])


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_webhooks"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookendpoint",
            name="service_user",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="webhook_endpoint",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(give_endpoints_accounts, migrations.RunPython.noop),
    ]
