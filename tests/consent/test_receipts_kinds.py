"""Receipts word a decision by the kind its workflow registered in consent/kinds.py and name
what was decided from the stored terms document; without a document they fall back to the
kind's label, and a kind nobody registered still renders, with neutral wording. Never a
database id in place of what was decided."""

import pytest
from django.db import transaction
from django.urls import reverse

from assignments.services import opt_in
from consent import kinds
from consent.models import ConsentRecord, TermsDocument
from consent.services import append_record
from tests.conftest import WEB

pytestmark = pytest.mark.django_db

KEYSTROKES = kinds.Kind(
    key="test_keystrokes",
    label="Use of keystrokes for model training",
    purpose_category="Research: model training",
    termination_text="Withdraw in the privacy centre; collection stops at once.",
    withdrawal_text="Nothing is collected from you.",
    url_name="consent:receipt",  # any page that takes the record's about_id will do here
    link_text="Back to the purpose",
)


@pytest.fixture
def registry(monkeypatch):
    """The registry as the apps filled it, with whatever a test adds undone afterwards."""
    monkeypatch.setattr(kinds, "_kinds", dict(kinds._kinds))


def record(employee, about_kind, action=ConsentRecord.Action.OPT_IN, about_id="9"):
    with transaction.atomic():
        return append_record(
            subject=employee.user,
            about_kind=about_kind,
            about_id=about_id,
            action=action,
            terms_sha256="a" * 64,
            terms_version="1",
            actor=employee.user,
            context=WEB,
        )


def receipt_of(client, rec):
    page = client.get(reverse("consent:receipt", args=[rec.pk]))
    data = client.get(reverse("consent:receipt_json", args=[rec.pk]))
    assert page.status_code == 200 and data.status_code == 200
    return page.content.decode(), data.json()


def test_an_unknown_kind_renders_with_the_fallback_label(client, employee):
    rec = record(employee, "never_registered")
    client.force_login(employee.user)
    page, data = receipt_of(client, rec)
    service = data["services"][0]
    assert service["service"] == "Consent decision"
    assert service["purposes"][0]["purpose"] == "Consent decision"  # no document stored
    assert service["purposes"][0]["purposeCategory"] == []
    assert service["purposes"][0]["termination"] == "You can withdraw this consent at any time."
    assert data["policyUrl"] == ""
    assert data["x-consent-portal"]["aboutKind"] == "never_registered"
    assert "Consent decision" in page and "#9" not in page
    assert data["x-consent-portal"]["actionLabel"] == "Opted in"  # the ledger's own word
    assert "Back to what this decision is about" not in page  # no page to link to


def test_a_registered_kind_words_its_receipts(client, employee, registry):
    kinds.register(KEYSTROKES)
    given = record(employee, KEYSTROKES.key, about_id=str(10**6))
    refused = record(employee, KEYSTROKES.key, action=ConsentRecord.Action.OPT_OUT)
    client.force_login(employee.user)

    page, data = receipt_of(client, given)
    purpose = data["services"][0]["purposes"][0]
    assert data["services"][0]["service"] == "Use of keystrokes for model training"
    assert purpose["purpose"] == "Use of keystrokes for model training"
    assert purpose["purposeCategory"] == ["Research: model training"]
    assert purpose["termination"] == "Withdraw in the privacy centre; collection stops at once."
    link = reverse("consent:receipt", args=[10**6])
    assert data["policyUrl"] == f"http://testserver{link}"
    assert "Use of keystrokes for model training" in page and "#1000000" not in page
    assert f'<a href="{link}">Back to the purpose</a>' in page

    page, data = receipt_of(client, refused)
    assert data["services"][0]["purposes"][0]["termination"] == "Nothing is collected from you."


def test_a_kind_whose_page_is_gone_renders_without_a_link(client, employee, registry):
    kinds.register(kinds.Kind(key="test_gone", label="Gone", url_name="consent:no_such_page"))
    rec = record(employee, "test_gone")
    client.force_login(employee.user)
    page, data = receipt_of(client, rec)
    assert data["policyUrl"] == "" and "Back to what this decision is about" not in page


def test_one_key_cannot_get_two_wordings(registry):
    kinds.register(KEYSTROKES)
    kinds.register(KEYSTROKES)  # the same wording again (a second ready()) is harmless
    with pytest.raises(ValueError, match="test_keystrokes"):
        kinds.register(kinds.Kind(key=KEYSTROKES.key, label="Something else"))
    assert kinds.get(KEYSTROKES.key) is KEYSTROKES


def test_a_proposal_receipt_keeps_the_wording_its_workflow_registered(client, employee, proposal):
    rec = opt_in(
        proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB
    )
    client.force_login(employee.user)
    page, data = receipt_of(client, rec)
    document = TermsDocument.objects.get(sha256=proposal.terms_sha256).content
    facts = "; ".join(f"{label}: {value}" for label, value in document["rows"])
    assert data["services"] == [
        {
            "service": "Proposal to change team",
            "purposes": [
                {
                    # What was decided, in the words of the stored document, not an id.
                    "purpose": f"{document['title']} ({facts})",
                    "purposeCategory": ["Employment: team assignment"],
                    "consentType": "EXPLICIT",
                    "piiCategory": ["Name", "Team", "Role"],
                    "primaryPurpose": True,
                    "termination": "You can withdraw this consent at any time before the start "
                    "date; after a move you can undraft.",
                    "thirdPartyDisclosure": False,
                }
            ],
        }
    ]
    link = reverse("assignments:proposal", args=[proposal.pk])
    assert data["policyUrl"] == f"http://testserver{link}"
    assert f'<a href="{link}">Back to the proposal</a>' in page
