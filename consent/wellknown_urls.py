"""What the portal publishes under /.well-known/ (RFC 8615): the receipt signing keys."""

from django.urls import path

from consent import views

app_name = "wellknown"

urlpatterns = [
    path("jwks.json", views.jwks, name="jwks"),
]
