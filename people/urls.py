"""The person's own settings (included under /settings/ by portal/urls.py)."""

from django.urls import path

from people import views

app_name = "people"

urlpatterns = [
    path("language/", views.set_language, name="set_language"),
]
