from datetime import date

import pytest

from datause import services
from datause.models import DataUsePurpose


def make_purpose(by, *, slug="keystrokes", publish=True, **extra) -> DataUsePurpose:
    fields = {
        "title": "Keystroke capture for model training",
        "categories": ["keystrokes", "screenshots"],
        "why": "To train models on how tools are used.",
        "retention": "90 days",
        "access": "The model-training team only",
        "collecting_system": "ai-telemetry",
        "owner": by,
        "approver_kind": DataUsePurpose.ApproverKind.DPO,
        "approved_on": date(2026, 1, 15),
        "approval_reference": "DPO-2026-1",
        **extra,
    }
    purpose = DataUsePurpose.objects.create(slug=slug, **fields)
    if publish:
        purpose = services.publish_purpose(purpose=purpose, actor=by.user)
    return purpose


@pytest.fixture
def purpose(manager):
    return make_purpose(manager)


@pytest.fixture
def eve(employee):
    employee.external_id = "E-1001"
    employee.save(update_fields=["external_id"])
    return employee
