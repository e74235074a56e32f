"""The privacy centre, under /privacy/ (the data-use choices and their decision routes, under
/privacy/purposes/, are datause's)."""

from django.urls import path

from privacy import views

app_name = "privacy"

urlpatterns = [
    path("", views.centre, name="centre"),
    path("proposals/", views.proposals, name="proposals"),
    path("decisions/", views.decisions, name="decisions"),
    path("receipts/", views.receipts, name="receipts"),
    path("notifications/", views.notifications, name="notifications"),
    path("access-log/", views.access_log, name="access_log"),
    path("export.json", views.export, name="export"),
]
