"""Campaigns, proposals, moves and placement requests over REST (/api/v1/...).

Decisions are read-only here: opting in, opting out, withdrawing consent and undrafting are the
person's own acts in the browser, so those routes answer 405 to everyone. Every queryset is
first limited to what the caller may see (an API key: everything its scopes cover; a signed-in
person: what their role shows), then each object is fetched from it, so what a list shows is
exactly what can be opened.
"""

from django.urls import include, path
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, routers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import acting_user
from api.errors import problem
from api.idempotency import idempotent
from api.permissions import is_api_client
from assignments import services
from assignments.access import LogsPeopleShown
from assignments.models import Campaign, Move, PlacementRequest, Proposal
from assignments.permissions import can_manage_proposal, can_propose_for
from assignments.selectors import proposals_visible_to
from people.models import Employee, Team
from people.roles import is_hr

BULK_LIMIT = 10_000
JOINS = ("employee", "from_team", "to_team", "campaign", "proposed_by")


def visible_proposals(user):
    if is_api_client(user):
        return Proposal.objects.select_related(*JOINS).order_by("-id")
    return proposals_visible_to(user).order_by("-id")


class ProposalSerializer(serializers.ModelSerializer):
    employee = serializers.SlugRelatedField(
        slug_field="external_id", read_only=True, allow_null=True, help_text="HRIS external id"
    )
    employee_id = serializers.IntegerField(source="employee.pk", read_only=True)
    from_team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    to_team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    campaign = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = Proposal
        fields = [
            "id",
            "employee",
            "employee_id",
            "from_team",
            "to_team",
            "campaign",
            "kind",
            "role_description",
            "data_labelling_percent",
            "start_date",
            "response_deadline",
            "state",
            "terms_sha256",
            "terms_version",
            "created_at",
            "decided_at",
        ]
        read_only_fields = fields


def proposals_as_json(proposals: list[Proposal]) -> list[dict]:
    """`ProposalSerializer(proposals, many=True).data`, without DRF's field machinery per
    item: a bulk answer of 7,000 spent seconds there. Dates and moments still go through
    DRF's own fields (same format, same zone); tests/api/test_bulk.py checks both agree."""
    moment, day = serializers.DateTimeField(), serializers.DateField()

    def when(value):
        return None if value is None else moment.to_representation(value)

    return [
        {
            "id": p.pk,
            "employee": p.employee.external_id if p.employee_id else None,
            "employee_id": p.employee.pk if p.employee_id else None,
            "from_team": p.from_team.slug if p.from_team_id else None,
            "to_team": p.to_team.slug,
            "campaign": p.campaign.slug if p.campaign_id else None,
            "kind": p.kind,
            "role_description": p.role_description,
            "data_labelling_percent": p.data_labelling_percent,
            "start_date": day.to_representation(p.start_date),
            "response_deadline": when(p.response_deadline),
            "state": p.state,
            "terms_sha256": p.terms_sha256,
            "terms_version": p.terms_version,
            "created_at": when(p.created_at),
            "decided_at": when(p.decided_at),
        }
        for p in proposals
    ]


class NewProposalSerializer(serializers.Serializer):
    employee = serializers.CharField(help_text="The employee's external id (HRIS).")
    to_team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())
    role_description = serializers.CharField()
    data_labelling_percent = serializers.IntegerField(min_value=0, max_value=100, default=0)
    start_date = serializers.DateField()
    response_deadline = serializers.DateTimeField()

    def validate_employee(self, value):
        employee = Employee.objects.select_related("manager").filter(external_id=value).first()
        if employee is None:
            raise serializers.ValidationError(f"No employee has the external id {value!r}.")
        return employee


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=2000, help_text="Why: the person is told this reason."
    )


class ExtendSerializer(ReasonSerializer):
    response_deadline = serializers.DateTimeField()


def _propose(request, data) -> Proposal:
    employee = data["employee"]
    if not is_api_client(request.user) and not can_propose_for(request.user, employee):
        raise PermissionDenied("You can propose only for your own direct reports.")
    return services.propose_transfer(
        employee=employee,
        to_team=data["to_team"],
        actor=acting_user(request),
        role_description=data["role_description"],
        data_labelling_percent=data["data_labelling_percent"],
        start_date=data["start_date"],
        response_deadline=data["response_deadline"],
    )


@extend_schema_view(
    list=extend_schema(summary="List proposals (scope proposals:read)"),
    retrieve=extend_schema(summary="A proposal (scope proposals:read)"),
)
class ProposalViewSet(
    LogsPeopleShown, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    lookup_value_converter = "int"
    serializer_class = ProposalSerializer
    required_scopes = {"GET": "proposals:read", "WRITE": "proposals:write"}
    filterset_fields = {
        "state": ["exact"],
        "to_team__slug": ["exact"],
        "campaign__slug": ["exact"],
        "created_at": ["gte", "lte"],
        "response_deadline": ["gte", "lte"],
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.serializer_class.Meta.model.objects.none()
        return visible_proposals(self.request.user)

    @extend_schema(
        summary="Propose a transfer (scope proposals:write)",
        request=NewProposalSerializer,
        responses={201: ProposalSerializer},
    )
    @idempotent
    def create(self, request):
        incoming = NewProposalSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        proposal = _propose(request, incoming.validated_data)
        return Response(ProposalSerializer(proposal).data, status=status.HTTP_201_CREATED)

    def _managed(self, pk) -> Proposal:
        proposal = self.get_object()
        if not is_api_client(self.request.user) and not can_manage_proposal(
            self.request.user, proposal
        ):
            raise PermissionDenied("Only the proposer, the manager or HR can change this.")
        return proposal

    @extend_schema(
        summary="Withdraw a proposal (scope proposals:write)",
        request=ReasonSerializer,
        responses={200: ProposalSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def withdraw(self, request, pk=None):
        incoming = ReasonSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        proposal = services.withdraw_proposal(
            proposal=self._managed(pk),
            actor=acting_user(request),
            reason=incoming.validated_data["reason"],
        )
        return Response(ProposalSerializer(proposal).data)

    @extend_schema(
        summary="Extend the response deadline, never shorten it (scope proposals:write)",
        request=ExtendSerializer,
        responses={200: ProposalSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def extend(self, request, pk=None):
        incoming = ExtendSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        proposal = services.extend_deadline(
            proposal=self._managed(pk),
            actor=acting_user(request),
            new_deadline=incoming.validated_data["response_deadline"],
            reason=incoming.validated_data["reason"],
        )
        return Response(ProposalSerializer(proposal).data)


class BulkItemSerializer(NewProposalSerializer):
    """One bulk item, checked for shape only: its people and teams are then looked up for
    the whole request at once (two queries, not two per item)."""

    employee = serializers.CharField()
    to_team = serializers.CharField()

    def validate_employee(self, value):
        return value


def _resolve(items: list[tuple[int, dict]]) -> tuple[list[dict], list[dict]]:
    """Turn external ids and slugs into rows for every (index, item); per-item errors for
    unknown ones."""
    employees = {
        e.external_id: e
        for e in Employee.objects.select_related("manager").filter(
            external_id__in={str(item["employee"]) for _, item in items}
        )
    }
    teams = Team.objects.in_bulk({str(item["to_team"]) for _, item in items}, field_name="slug")
    resolved, errors = [], []
    for index, item in items:
        employee, team = employees.get(str(item["employee"])), teams.get(str(item["to_team"]))
        problems = {}
        if employee is None:
            problems["employee"] = [f"No employee has the external id {item['employee']!r}."]
        if team is None:
            problems["to_team"] = [f"No team has the slug {item['to_team']!r}."]
        if problems:
            errors.append({"index": index, "errors": problems})
        else:
            resolved.append({**item, "employee": employee, "to_team": team})
    return resolved, errors


class BulkProposals(APIView):
    """Up to 10,000 proposals in one request: all or nothing, with per-item errors."""

    required_scopes = {"WRITE": "proposals:write"}

    class Input(serializers.Serializer):
        proposals = NewProposalSerializer(many=True)

    @extend_schema(
        summary="Propose many transfers at once, all or nothing (scope proposals:write)",
        request=Input,
        responses={201: ProposalSerializer(many=True)},
    )
    @idempotent
    def post(self, request):
        items = request.data.get("proposals") if isinstance(request.data, dict) else None
        if not isinstance(items, list) or not items:
            return problem(400, 'Send {"proposals": [...]} with at least one item.')
        if len(items) > BULK_LIMIT:
            return problem(413, f"At most {BULK_LIMIT} proposals per request; got {len(items)}.")
        # One list serializer for all items: its fields are built once, not once per item.
        incoming = BulkItemSerializer(data=items, many=True)
        if incoming.is_valid():
            shaped, errors = list(enumerate(incoming.validated_data)), []
        else:  # look the well-formed items up too, so every unknown id is named at once
            found = incoming.errors  # {index: errors} (DRF 3.15), or one entry per item
            by_index = found if isinstance(found, dict) else dict(enumerate(found))
            shaped = [(i, item) for i, item in enumerate(items) if not by_index.get(i)]
            errors = [{"index": i, "errors": e} for i, e in sorted(by_index.items()) if e]
        parsed, unknown = _resolve(shaped)
        errors = sorted(errors + unknown, key=lambda error: error["index"])
        if errors:
            return problem(400, "Some items are invalid; nothing was created.", items=errors)
        user = request.user
        if not is_api_client(user) and not all(
            can_propose_for(user, item["employee"]) for item in parsed
        ):
            raise PermissionDenied("You can propose only for your own direct reports.")
        try:
            created = services.propose_transfers(items=parsed, actor=acting_user(request))
        except services.ItemsRejected as rejected:
            return problem(
                400, "Some items cannot be proposed; nothing was created.", items=rejected.items
            )
        return Response(proposals_as_json(created), status=status.HTTP_201_CREATED)


class DecisionsAreNotMadeHere(APIView):
    """Opting in or out, withdrawing consent and undrafting: only the person, in the browser."""

    required_scopes = {}
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def _refuse(self, request, *args, **kwargs):
        response = problem(
            405,
            "Only the person a proposal is about can decide on it, signed in to the portal; "
            "API clients read decisions and never make them.",
            slug="decisions-are-personal",
        )
        response["Allow"] = ""
        return response

    def initial(self, request, *args, **kwargs):
        pass  # answer everyone the same, signed in or not

    _doc = extend_schema(
        summary="Decisions are never made through the API",
        description="Always 405: only the person decides, in the browser.",
        request=None,
        responses={405: OpenApiResponse(description="Only the person decides.")},
        auth=[],
    )
    get = _doc(_refuse)
    post = _doc(_refuse)
    put = _doc(_refuse)
    patch = _doc(_refuse)
    delete = _doc(_refuse)
    options = _refuse


class CampaignSerializer(serializers.ModelSerializer):
    target_teams = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "data_labelling_percent",
            "target_teams",
            "response_working_days",
            "terms_version",
            "created_at",
        ]
        read_only_fields = fields


class CampaignViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_value_converter = "int"
    serializer_class = CampaignSerializer
    required_scopes = {"GET": "proposals:read"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.serializer_class.Meta.model.objects.none()
        user = self.request.user
        qs = Campaign.objects.prefetch_related("target_teams").order_by("-id")
        if is_api_client(user) or is_hr(user):
            return qs
        return qs.filter(proposals__in=proposals_visible_to(user)).distinct()


class MoveSerializer(serializers.ModelSerializer):
    class Meta:
        model = Move
        fields = [
            "id",
            "proposal",
            "employee",
            "from_team",
            "to_team",
            "effective_date",
            "applied_at",
            "opt_in_record",
        ]
        read_only_fields = fields


class MoveViewSet(LogsPeopleShown, viewsets.ReadOnlyModelViewSet):
    lookup_value_converter = "int"
    serializer_class = MoveSerializer
    required_scopes = {"GET": "proposals:read"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.serializer_class.Meta.model.objects.none()
        return Move.objects.filter(proposal__in=visible_proposals(self.request.user)).order_by(
            "-id"
        )


class PlacementRequestSerializer(serializers.ModelSerializer):
    preferences = serializers.SerializerMethodField()

    class Meta:
        model = PlacementRequest
        fields = [
            "id",
            "employee",
            "source_proposal",
            "priority",
            "state",
            "created_at",
            "preferences",
        ]
        read_only_fields = fields

    def get_preferences(self, request) -> list[str]:
        return [p.team.slug for p in request.preferences.all()]


class PlacementRequestViewSet(LogsPeopleShown, viewsets.ReadOnlyModelViewSet):
    """Placement requests (scope proposals:read). HR and API keys see all; people their own.
    The note a person wrote stays out: it is theirs."""

    lookup_value_converter = "int"
    serializer_class = PlacementRequestSerializer
    required_scopes = {"GET": "proposals:read"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.serializer_class.Meta.model.objects.none()
        user = self.request.user
        qs = PlacementRequest.objects.prefetch_related("preferences__team").order_by("-id")
        if is_api_client(user) or is_hr(user):
            return qs
        return qs.filter(employee__user=user)


router = routers.SimpleRouter(use_regex_path=False)
router.register("proposals", ProposalViewSet, basename="proposal")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("moves", MoveViewSet, basename="move")
router.register("placement-requests", PlacementRequestViewSet, basename="placement-request")
urlpatterns = [
    path("proposals/bulk/", BulkProposals.as_view(), name="proposal-bulk"),
    *[
        path(f"proposals/<int:pk>/{decision}/", DecisionsAreNotMadeHere.as_view())
        for decision in ("opt-in", "opt-out", "withdraw-consent", "undraft", "decide")
    ],
    path("", include(router.urls)),
]
