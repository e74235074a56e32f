"""Demo purposes for `seed_demo` (the lead wires `seed_purposes` in). Idempotent."""

from datetime import date

from django.db import transaction

from datause import services
from datause.models import Category, DataUsePurpose

KEYSTROKES = "keystroke-screenshot-training"


@transaction.atomic
def seed_purposes(*, owner) -> list[DataUsePurpose]:
    """Create and publish the demo purposes once; `owner` is the accountable Employee."""
    purpose, _ = DataUsePurpose.objects.get_or_create(
        slug=KEYSTROKES,
        version=1,
        defaults={
            "title": "Keystroke and screenshot capture for model training",
            "categories": [Category.KEYSTROKES, Category.SCREENSHOTS, Category.APP_USAGE],
            "why": (
                "To train the assistant models of the Applied AI Task Force on how people "
                "really use our internal tools."
            ),
            "retention": "90 days in raw form, then only de-identified training examples",
            "access": (
                "The six members of the model-training team, named in the access register; "
                "nobody else, not your manager and not HR."
            ),
            "collecting_system": "Telemetry agent (ai-telemetry)",
            "validity_months": 12,
            "owner": owner,
            "approver_kind": DataUsePurpose.ApproverKind.WORKS_COUNCIL,
            "approved_on": date(2026, 1, 15),
            "approval_reference": "WC-2026-004",
        },
    )
    return [services.publish_purpose(purpose=purpose, actor=owner.user)]
