"""The portal's URLs plus the floor view; only bench.settings points here."""

from django.urls import path

from bench import views
from portal.urls import urlpatterns as portal_urlpatterns

urlpatterns = [path("bench/floor", views.floor, name="bench-floor"), *portal_urlpatterns]
