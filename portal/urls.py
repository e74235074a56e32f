from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path(".well-known/", include("consent.wellknown_urls")),  # jwks.json: receipt signing keys
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    # REST API: each app's api.py holds its own endpoints (named here by string only).
    path("api/v1/", include("people.api")),
    path("api/v1/", include("assignments.api")),
    path("api/v1/", include("consent.api")),
    path("api/v1/", include("webhooks.api")),
    path("api/v1/", include("datause.api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("api.urls")),  # anything else under /api/: a problem-details 404
    path("scim/v2/", include("people.scim.urls")),  # SCIM 2.0 for the HRIS (scope scim)
    path("settings/", include("people.urls")),  # the person's own language
    path("notifications/", include("notifications.urls")),
    path("", include("assignments.urls")),
    path("", include("consent.urls")),
    path("", include("datause.urls")),  # /privacy/
    path("", include("assignments.urls_hr")),  # /start/ and the HR workspace under /hr/
    path("hr/dashboards/", include("reports.urls", namespace="hr_dashboards")),
    path("team/dashboards/", include("reports.urls", namespace="team_dashboards")),
]
