"""Webhook endpoints over REST (/api/v1/webhook-endpoints/, scope `webhooks:manage`).

A key manages the endpoints it created; an admin's session sees all. The secret is in the
response only when it is created or rotated.
"""

from django.urls import include, path
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import routers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from api.authentication import acting_user
from api.idempotency import idempotent
from api.permissions import is_api_client
from webhooks import services, tasks
from webhooks.models import EVENTS, WebhookDelivery, WebhookEndpoint


class EndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENTS), min_length=1)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id", "url", "events", "description", "owner_email", "is_active", "created_at",
            "failing_since", "disabled_at", "disabled_reason",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "failing_since", "disabled_at", "disabled_reason"]


class CreatedEndpointSerializer(EndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="whsec_...: shown only now.")

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = ["id", "message_id", "topic", "state", "attempts", "last_status", "created_at"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(summary="List webhook endpoints (scope webhooks:manage)"),
    retrieve=extend_schema(summary="A webhook endpoint (scope webhooks:manage)"),
    partial_update=extend_schema(summary="Change an endpoint's URL, events or on/off"),
    destroy=extend_schema(summary="Delete a webhook endpoint"),
)
class WebhookEndpointViewSet(viewsets.ModelViewSet):
    lookup_value_converter = "int"
    serializer_class = EndpointSerializer
    required_scopes = {"GET": "webhooks:manage", "WRITE": "webhooks:manage"}
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookEndpoint.objects.none()
        user = self.request.user
        qs = WebhookEndpoint.objects.order_by("id")
        if is_api_client(user):
            return qs.filter(created_by_id=user.user_id)
        if user.is_superuser:
            return qs
        return qs.none()

    def _require_manager(self):
        if not (is_api_client(self.request.user) or self.request.user.is_superuser):
            raise PermissionDenied("Webhooks are managed by admins and API keys.")

    @extend_schema(
        summary="Register a webhook endpoint (scope webhooks:manage)",
        request=EndpointSerializer,
        responses={201: CreatedEndpointSerializer},
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        self._require_manager()
        incoming = EndpointSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        endpoint, secret = services.create_endpoint(
            url=data["url"],
            events=data["events"],
            created_by=acting_user(request),
            owner_email=data.get("owner_email", ""),
            description=data.get("description", ""),
        )
        endpoint.secret = secret
        return Response(CreatedEndpointSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.update_endpoint(
            endpoint=serializer.instance,
            url=data.get("url"),
            events=data.get("events"),
            is_active=data.get("is_active"),
            description=data.get("description"),
        )

    @extend_schema(
        summary="Rotate the signing secret (the old one signs alongside for 24 h)",
        request=None,
        responses={200: CreatedEndpointSerializer},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    @idempotent
    def rotate_secret(self, request, pk=None):
        endpoint, secret = services.rotate_secret(endpoint=self.get_object())
        endpoint.secret = secret
        return Response(CreatedEndpointSerializer(endpoint).data)

    @extend_schema(
        summary="Send a test event (type webhook.test)",
        request=None,
        responses={202: DeliverySerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def test(self, request, pk=None):
        delivery = services.send_test(endpoint=self.get_object())
        tasks.queue([delivery.pk])
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


router = routers.SimpleRouter(use_regex_path=False)
router.register("webhook-endpoints", WebhookEndpointViewSet, basename="webhook-endpoint")
urlpatterns = [path("", include(router.urls))]
