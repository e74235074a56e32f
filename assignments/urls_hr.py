"""The HR workspace's pages (namespace "hr"), and `/start/`, where each role lands.

Included at the site root by portal/urls.py, so the landing redirect needs no /hr/ prefix
(employees and managers pass through it too); every other page is under /hr/ and HR-only.
The consent dashboards, /hr/dashboards/, belong to `reports/` and have their own urls.
"""

from django.urls import path

from assignments.views import hr

app_name = "hr"

urlpatterns = [
    path("start/", hr.start, name="start"),
    path("hr/", hr.workspace, name="workspace"),
    path("hr/campaigns/", hr.campaigns, name="campaigns"),
    path("hr/campaigns/new/", hr.campaign_new, name="campaign_new"),
    path("hr/campaigns/<int:pk>/", hr.campaign_detail, name="campaign"),
    path("hr/campaigns/<int:pk>/edit/", hr.campaign_edit, name="campaign_edit"),
    path("hr/campaigns/<int:pk>/audience/", hr.campaign_audience, name="campaign_audience"),
    path("hr/campaigns/<int:pk>/preview/", hr.campaign_preview, name="campaign_preview"),
    path("hr/campaigns/<int:pk>/send/", hr.campaign_send, name="campaign_send"),
    path("hr/campaigns/<int:pk>/progress/", hr.campaign_progress, name="campaign_progress"),
    path("hr/retroactive/", hr.retroactive_import, name="retroactive_import"),
    path("hr/placements/", hr.placements, name="placements"),
    path("hr/placements/<int:pk>/offer/", hr.offer_placement, name="offer_placement"),
    path("hr/leave/", hr.leave, name="leave"),
    path("hr/managers/suggestions/", hr.manager_suggestions, name="manager_suggestions"),
]
