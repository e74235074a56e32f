"""Consent decisions over REST (/api/v1/consent-records/): read-only, never a private reason.

A key with `consent:read` reads every record; a signed-in person reads their own (HR: all).
Nobody writes here: the ledger is appended only by the person's own decisions.
"""

from django.urls import include, path
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import routers, serializers, viewsets

from api.permissions import is_api_client
from consent.models import ConsentRecord


class ConsentRecordSerializer(serializers.ModelSerializer):
    subject = serializers.IntegerField(source="subject_id", read_only=True)
    private_reason_given = serializers.SerializerMethodField()

    class Meta:
        model = ConsentRecord
        # Deliberately listed: the private reason itself is never part of the API.
        fields = [
            "id",
            "subject",
            "about_kind",
            "about_id",
            "action",
            "terms_sha256",
            "terms_version",
            "channel",
            "recorded_at",
            "private_reason_given",
            "prev_hash",
            "hash",
        ]
        read_only_fields = fields

    def get_private_reason_given(self, record) -> bool:
        return record.reason_given


@extend_schema_view(
    list=extend_schema(summary="List consent records (scope consent:read)"),
    retrieve=extend_schema(summary="A consent record (scope consent:read)"),
)
class ConsentRecordViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_value_converter = "int"
    serializer_class = ConsentRecordSerializer
    required_scopes = {"GET": "consent:read"}
    filterset_fields = ["about_kind", "about_id", "action", "subject"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.serializer_class.Meta.model.objects.none()
        user = self.request.user
        # The database holds only the sealed reason; the API says whether there is one.
        qs = ConsentRecord.objects.order_by("-id")
        if is_api_client(user) or user.has_perm("consent.view_consentrecord"):
            # Nobody but the person reads an individual data-use choice: collectors learn only
            # "allowed or not" through the consent check.
            return qs.exclude(about_kind="data_use")
        return qs.filter(subject=user)


router = routers.SimpleRouter(use_regex_path=False)
router.register("consent-records", ConsentRecordViewSet, basename="consent-record")
urlpatterns = [path("", include(router.urls))]
