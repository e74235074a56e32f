"""The employee's data-use choices under /privacy/purposes/ (the privacy centre at /privacy/ is
the privacy app's, and shows them too; the REST API has its own URLs, in datause/api.py)."""

from django.urls import path

from datause import views

app_name = "datause"

urlpatterns = [
    path("privacy/purposes/", views.privacy, name="privacy"),
    path(
        "privacy/purposes/<slug:slug>/opt-in/",
        views.decide,
        {"choice": "opt_in"},
        name="opt_in",
    ),
    path(
        "privacy/purposes/<slug:slug>/opt-out/",
        views.decide,
        {"choice": "opt_out"},
        name="opt_out",
    ),
]
