"""Teams and employees over REST (/api/v1/teams/, /api/v1/employees/).

Reads need `org:read`. Team changes of a person are never made here: a move into a team is a
proposal the person decides, and HRIS reorganisations come over SCIM.
"""

from django.urls import include, path
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import routers, serializers, viewsets
from rest_framework.exceptions import PermissionDenied

from api.idempotency import idempotent
from api.permissions import is_api_client
from people.models import Employee, Team
from people.roles import is_hr


class TeamSerializer(serializers.ModelSerializer):
    open_seats = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = ["id", "external_id", "name", "slug", "kind", "headcount_target", "open_seats"]
        read_only_fields = ["id", "open_seats"]

    def validate_external_id(self, value):
        # "" is no id at all: store NULL, so teams without one never collide on uniqueness.
        return value or None

    def get_open_seats(self, team) -> int:
        members = getattr(team, "member_count", None)
        if members is None:
            members = team.members.filter(is_active=True).count()
        return max(team.headcount_target - members, 0)


class EmployeeSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    manager = serializers.PrimaryKeyRelatedField(
        queryset=Employee.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = Employee
        fields = [
            "id",
            "external_id",
            "name",
            "email",
            "title",
            "team",
            "manager",
            "is_active",
            "time_zone",
            "language",
        ]
        read_only_fields = ["id", "team", "is_active"]


def _teams():
    from django.db.models import Count, Q

    return Team.objects.annotate(
        member_count=Count("members", filter=Q(members__is_active=True))
    ).order_by("id")


def visible_employees(user):
    """API keys with org:read see everyone; HR everyone; others themselves and their reports."""
    qs = Employee.objects.select_related("team", "manager").order_by("id")
    if is_api_client(user) or is_hr(user):
        return qs
    return qs.filter(user=user) | qs.filter(manager__user=user)


@extend_schema_view(
    list=extend_schema(summary="List teams (scope org:read)"),
    retrieve=extend_schema(summary="A team (scope org:read)"),
    create=extend_schema(summary="Create a team (scope org:write)"),
)
class TeamViewSet(viewsets.ModelViewSet):
    lookup_value_converter = "int"
    serializer_class = TeamSerializer
    required_scopes = {"GET": "org:read", "WRITE": "org:write"}
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.serializer_class.Meta.model.objects.none()
        return _teams()

    @idempotent
    def create(self, request, *args, **kwargs):
        if not (is_api_client(request.user) or is_hr(request.user)):
            raise PermissionDenied("Only HR and API keys with org:write create teams.")
        return super().create(request, *args, **kwargs)


@extend_schema_view(
    list=extend_schema(summary="List employees (scope org:read)"),
    retrieve=extend_schema(summary="An employee (scope org:read)"),
)
class EmployeeViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_value_converter = "int"
    serializer_class = EmployeeSerializer
    required_scopes = {"GET": "org:read"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.serializer_class.Meta.model.objects.none()
        return visible_employees(self.request.user)


router = routers.SimpleRouter(use_regex_path=False)
router.register("teams", TeamViewSet, basename="team")
router.register("employees", EmployeeViewSet, basename="employee")
urlpatterns = [path("", include(router.urls))]
