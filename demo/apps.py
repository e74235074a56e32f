from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo organisation `make run` shows: a face over every workflow, writing only
    through their services, so it sits on the top floor."""

    name = "demo"
    verbose_name = "Demo"
