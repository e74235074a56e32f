from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portal import views
from portal.metrics import metrics_view

# One sign-in path for every page: the admin's own login form (a password alone, never
# throttled) sends people to allauth's, with its two-factor step and rate limits.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    # First: the consent check is every data pipeline's hot path, and each pattern tried
    # before it costs every check (its two URLs clash with nothing below).
    path("api/v1/", include("datause.api")),
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),  # Prometheus, PORTAL_METRICS_TOKEN
    path(".well-known/", include("consent.wellknown_urls")),  # jwks.json: receipt signing keys
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    # REST API: each app's api.py holds its own endpoints (named here by string only).
    path("api/v1/", include("people.api")),
    path("api/v1/", include("assignments.api")),
    path("api/v1/", include("consent.api")),
    path("api/v1/", include("webhooks.api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("api.urls")),  # anything else under /api/: a problem-details 404
    path("scim/v2/", include("people.scim.urls")),  # SCIM 2.0 for the HRIS (scope scim)
    path("settings/", include("people.urls")),  # the person's own language
    path("notifications/", include("notifications.urls")),
    path("", include("assignments.urls")),
    path("", include("consent.urls")),
    path("privacy/", include("privacy.urls")),  # the privacy centre
    path("", include("datause.urls")),  # /privacy/purposes/: data-use choices
    path("", include("assignments.urls_hr")),  # /start/ and the HR workspace under /hr/
    path("hr/purposes/", include("datause.urls_hr")),  # HR defines data-use purposes
    path("hr/dashboards/", include("reports.urls", namespace="hr_dashboards")),
    path("team/dashboards/", include("reports.urls", namespace="team_dashboards")),
]
