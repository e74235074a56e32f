"""HR's data-use purpose pages under /hr/purposes/ (namespace "hr_purposes"), HR only."""

from django.urls import path

from datause import hr_views

app_name = "hr_purposes"

urlpatterns = [
    path("", hr_views.purposes, name="purposes"),
    path("new/", hr_views.purpose_new, name="purpose_new"),
    path("<slug:slug>/", hr_views.purpose_detail, name="purpose"),
    path("<slug:slug>/next-version/", hr_views.purpose_next_version, name="purpose_next_version"),
    path("<slug:slug>/v<int:version>/edit/", hr_views.purpose_edit, name="purpose_edit"),
    path("<slug:slug>/v<int:version>/publish/", hr_views.purpose_publish, name="purpose_publish"),
]
