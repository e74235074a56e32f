from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Consent ledger"
    # Workflows register the wording of what their records are about in consent/kinds.py,
    # from their own AppConfig.ready(); the ledger imports no other app.
