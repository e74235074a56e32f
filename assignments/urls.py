"""Browser pages of the assignments app (the REST API has its own URLs)."""

from django.urls import path

from assignments import views

app_name = "assignments"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("proposals/<int:pk>/", views.proposal_detail, name="proposal"),
    path("proposals/<int:pk>/opt-in/", views.opt_in, name="opt_in"),
    path("proposals/<int:pk>/opt-out/", views.opt_out, name="opt_out"),
    path("proposals/<int:pk>/withdraw-consent/", views.withdraw_consent, name="withdraw_consent"),
    path("proposals/<int:pk>/undraft/", views.undraft, name="undraft"),
    path("team/proposals/", views.team_proposals, name="team_proposals"),
    path("team/propose/", views.propose, name="propose"),
    path("team/proposals/<int:pk>/extend/", views.extend, name="extend"),
    path("team/proposals/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
]
