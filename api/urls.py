"""The API's last resort: any /api/ URL that nothing else matched is a problem-details 404."""

from django.urls import re_path
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, authentication_classes, permission_classes

from api.errors import problem


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([])
def not_found(request, rest=""):
    return problem(404, f"There is no API endpoint at {request.path}.")


urlpatterns = [re_path(r"^(?P<rest>.*)$", not_found)]
