"""The dashboards, mounted twice by portal/urls.py: at hr/dashboards/ (namespace
"hr_dashboards", everyone's figures, HR only) and at team/dashboards/ ("team_dashboards", a
manager's own reports). reports.permissions.scope_for reads which one a request came in by."""

from django.urls import path

from reports import purpose_views, views

app_name = "reports"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("export.csv", views.overview_export, name="overview_export"),
    path("campaigns/<int:pk>/", views.campaign, name="campaign"),
    path("campaigns/<int:pk>/export.csv", views.campaign_export, name="campaign_export"),
    path("campaigns/<int:pk>/people/", views.people, name="people"),
    path("no-adverse-consequence/", views.no_adverse_consequence, name="no_adverse"),
    # Data-use purposes: counts per purpose and team, no names anywhere.
    path("purposes/", purpose_views.overview, name="purposes"),
    path("purposes/export.csv", purpose_views.export, name="purposes_export"),
    path("purposes/<slug:slug>/", purpose_views.purpose, name="purpose"),
]
