"""Teams and employees over REST (/api/v1/teams/, /api/v1/employees/).

Reads need `org:read`, changes `org:write`. A person's team changes here only the way it does
over SCIM, through `people.services.change_team_administratively`: between regular teams, as
an audited TeamChange (who, when, which client). Nobody enters or leaves an AI-initiative team
this way (409, pointing to the proposal API: the person decides), and a team with people in it
never becomes an AI initiative (`people.services.change_team_kind`).
"""

from django.db import transaction
from django.urls import include, path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import routers, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from api.authentication import ApiClient, acting_user
from api.errors import problem
from api.idempotency import idempotent
from api.permissions import is_api_client
from people import services
from people.models import Employee, Team, TeamChange
from people.roles import is_hr
from people.selectors import team_changes_for

PROPOSALS_URL = "/api/v1/proposals/"


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


class TeamChangeSerializer(serializers.ModelSerializer):
    from_team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    to_team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    api_key = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = TeamChange
        fields = ["id", "from_team", "to_team", "at", "client_name", "api_key"]
        read_only_fields = fields


class NewTeamSerializer(serializers.Serializer):
    team = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Team.objects.all(),
        allow_null=True,
        help_text="The slug of a regular team, or null for no team.",
    )


def _refuse_other_fields(data, allowed: set[str], why: str) -> None:
    """A PATCH that names a field it cannot change is a 400, never a silent no-op."""
    other = sorted(set(data) - allowed) if isinstance(data, dict) else []
    if other:
        raise serializers.ValidationError({name: [why] for name in other})


def _require_org_writer(user) -> None:
    if not (is_api_client(user) or is_hr(user)):
        raise PermissionDenied("Only HR and API keys with org:write change teams and people.")


def _refused(exc: services.TeamChangeRefused | services.TeamKindRefused, slug: str):
    """409: what the person must decide is never changed administratively; say how instead."""
    return problem(409, exc.message, slug=slug, proposals=PROPOSALS_URL)


REFUSED_EXAMPLE = OpenApiExample(
    "Into an AI initiative",
    status_codes=["409"],
    response_only=True,
    value={
        "type": "https://consent-portal.invalid/problems/consent-required",
        "title": "Conflict",
        "status": 409,
        "detail": "Applied AI is an AI initiative: nobody joins it except through their own "
        "opt-in. Propose the move with POST /api/v1/proposals/ and Eve Employee decides.",
        "proposals": PROPOSALS_URL,
    },
)


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
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.serializer_class.Meta.model.objects.none()
        return _teams()

    @idempotent
    def create(self, request, *args, **kwargs):
        if not (is_api_client(request.user) or is_hr(request.user)):
            raise PermissionDenied("Only HR and API keys with org:write create teams.")
        return super().create(request, *args, **kwargs)

    @extend_schema(
        summary="Change a team's name, headcount target or kind (scope org:write)",
        description="A team becomes an AI initiative only while nobody is in it (409 "
        "otherwise): its members never opted in. Send them retroactive confirmations, or "
        "create the AI initiative as a new team and propose moves.",
        responses={
            200: TeamSerializer,
            409: OpenApiResponse(description="The team has people in it: they never opted in."),
        },
    )
    def partial_update(self, request, *args, **kwargs):
        team = self.get_object()
        _require_org_writer(request.user)
        _refuse_other_fields(
            request.data,
            {"name", "slug", "external_id", "headcount_target", "kind"},
            "This field cannot be changed.",
        )
        incoming = TeamSerializer(team, data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        fields = dict(incoming.validated_data)
        kind = fields.pop("kind", None)
        try:
            with transaction.atomic():
                if kind is not None:
                    team = services.change_team_kind(
                        team=team, kind=kind, actor=acting_user(request)
                    )
                for name, value in fields.items():
                    setattr(team, name, value)
                if fields:
                    team.save(update_fields=list(fields))
        except services.TeamKindRefused as refused:
            return _refused(refused, "team-not-empty")
        return Response(TeamSerializer(self.get_queryset().get(pk=team.pk)).data)


@extend_schema_view(
    list=extend_schema(summary="List employees (scope org:read)"),
    retrieve=extend_schema(summary="An employee (scope org:read)"),
)
class EmployeeViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_value_converter = "int"
    serializer_class = EmployeeSerializer
    required_scopes = {"GET": "org:read", "WRITE": "org:write"}
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.serializer_class.Meta.model.objects.none()
        return visible_employees(self.request.user)

    @extend_schema(
        summary="Change someone's team between regular teams (scope org:write)",
        description="Recorded as an audited administrative change (who, when, which client) "
        "and shown on the person's timeline. Nobody enters or leaves an AI-initiative team "
        "this way (409): propose the move with POST /api/v1/proposals/ and the person "
        "decides. Profile fields come from the HRIS over SCIM (/scim/v2/Users).",
        request=NewTeamSerializer,
        responses={
            200: EmployeeSerializer,
            409: OpenApiResponse(
                response=OpenApiTypes.OBJECT,  # shown as a Problem (api.schema)
                description="Into or out of an AI initiative: propose the move instead.",
                examples=[REFUSED_EXAMPLE],
            ),
        },
    )
    def partial_update(self, request, *args, **kwargs):
        employee = self.get_object()  # outside the caller's reach: 404 before anything else
        _require_org_writer(request.user)
        _refuse_other_fields(
            request.data,
            {"team"},
            "Only `team` changes here; profile fields come over SCIM (/scim/v2/Users).",
        )
        incoming = NewTeamSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        user = request.user
        try:
            services.change_team_administratively(
                employee=employee,
                to_team=incoming.validated_data["team"],
                actor=acting_user(request),
                client_name=user.name if isinstance(user, ApiClient) else "REST API (session)",
                api_key_id=user.key_id if isinstance(user, ApiClient) else None,
            )
        except services.TeamChangeRefused as refused:
            return _refused(refused, "consent-required")
        return Response(EmployeeSerializer(self.get_queryset().get(pk=employee.pk)).data)

    @extend_schema(
        summary="Someone's administrative team changes, newest first (scope org:read)",
        responses={200: TeamChangeSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], url_path="team-changes")
    def team_changes(self, request, pk=None):
        employee = self.get_object()
        page = self.paginate_queryset(team_changes_for(employee).order_by("-id"))
        return self.get_paginated_response(TeamChangeSerializer(page, many=True).data)


router = routers.SimpleRouter(use_regex_path=False)
router.register("teams", TeamViewSet, basename="team")
router.register("employees", EmployeeViewSet, basename="employee")
urlpatterns = [path("", include(router.urls))]
