from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API"

    def ready(self):
        from api import (
            keys,
            schema,  # noqa: F401  (registers the Bearer key scheme for OpenAPI)
        )

        keys.guard_key_caches()
