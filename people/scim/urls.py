"""/scim/v2/ (included by portal/urls.py). Anything not listed here is a SCIM 404."""

from django.urls import path, re_path

from people.scim import views

app_name = "scim"


urlpatterns = [
    re_path(
        r"^ServiceProviderConfig/?$",
        views.ServiceProviderConfigView.as_view(),
        name="service-provider-config",
    ),
    re_path(r"^ResourceTypes/?$", views.ResourceTypesView.as_view(), name="resource-types"),
    path("ResourceTypes/<str:resource_id>", views.ResourceTypesView.as_view()),
    re_path(r"^Schemas/?$", views.SchemasView.as_view(), name="schemas"),
    path("Schemas/<str:resource_id>", views.SchemasView.as_view()),
    re_path(r"^Users/?$", views.CollectionView.as_view(kind=views.USERS), name="users"),
    path("Users/.search", views.SearchView.as_view(kind=views.USERS)),
    path("Users/<str:resource_id>", views.ResourceView.as_view(kind=views.USERS), name="user"),
    re_path(r"^Groups/?$", views.CollectionView.as_view(kind=views.GROUPS), name="groups"),
    path("Groups/.search", views.SearchView.as_view(kind=views.GROUPS)),
    path("Groups/<str:resource_id>", views.ResourceView.as_view(kind=views.GROUPS), name="group"),
    path(".search", views.RootSearchView.as_view()),
    re_path(r"^(Bulk|Me)(/.*)?$", views.NotSupportedView.as_view()),
    re_path(r"^.*$", views.UnknownView.as_view()),
]
