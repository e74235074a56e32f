from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("datause", "0001_initial"),
        ("webhooks", "0001_webhooks"),
    ]

    operations = [
        migrations.AddField(
            model_name="datausepurpose",
            name="webhook_endpoints",
            field=models.ManyToManyField(
                blank=True, related_name="+", to="webhooks.webhookendpoint"
            ),
        ),
    ]
