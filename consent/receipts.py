"""Consent receipts modelled on the Kantara Initiative Consent Receipt Specification v1.1.

A receipt is built from one ConsentRecord and nothing else, so the ledger stays ignorant of
workflows: what the decision was about is named by `about_kind`/`about_id`, worded by the kind
its workflow registered in `consent.kinds`, and the exact terms are pinned by their sha256.
Fields that the specification defines keep its names; portal-specific facts (action, hashes,
channel) sit under one extension key.
"""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from consent import kinds
from consent.models import ConsentRecord

SPEC_VERSION = "KI-CR-v1.1.0"
EXTENSION_KEY = "x-consent-portal"


def _collection_method(channel: str) -> str:
    methods = {
        ConsentRecord.Channel.WEB: _("Web form, signed in"),
        ConsentRecord.Channel.API: _("API"),
        ConsentRecord.Channel.SYSTEM: _("Recorded by the system"),
        ConsentRecord.Channel.IMPORT: _("Imported"),
    }
    return methods.get(channel, channel)


def build_receipt(record: ConsentRecord, *, policy_url: str = "", terms_url: str = "") -> dict:
    """The receipt as a JSON-ready dict. The private reason is never included: receipts get
    emailed and downloaded, and the reason stays in the ledger only."""
    subject = record.subject
    controller = getattr(settings, "CONSENT_RECEIPT_CONTROLLER", None) or {
        "piiController": _("Consent Portal (your employer)"),
        "contact": _("HR partner"),
        "address": "",
        "email": settings.DEFAULT_FROM_EMAIL,
        "phone": "",
    }
    consent_given = record.action == ConsentRecord.Action.OPT_IN
    kind = kinds.get(record.about_kind)
    return {
        "version": SPEC_VERSION,
        "jurisdiction": getattr(settings, "CONSENT_RECEIPT_JURISDICTION", ""),
        "consentTimestamp": int(record.recorded_at.timestamp()),
        "collectionMethod": _collection_method(record.channel),
        "consentReceiptID": record.hash,
        "language": translation.get_language() or settings.LANGUAGE_CODE,
        "piiPrincipalId": subject.email or subject.get_username(),
        "piiControllers": [controller],
        "policyUrl": policy_url,
        "services": [
            {
                "service": str(kind.label),
                "purposes": [
                    {
                        "purpose": f"{kind.label} #{record.about_id}",
                        "purposeCategory": [str(kind.purpose_category)]
                        if kind.purpose_category
                        else [],
                        "consentType": "EXPLICIT" if record.actor_id else "NONE",
                        "piiCategory": [_("Name"), _("Team"), _("Role")],
                        "primaryPurpose": True,
                        "termination": str(
                            kind.termination_text if consent_given else kind.withdrawal_text
                        ),
                        "thirdPartyDisclosure": False,
                    }
                ],
            }
        ],
        "sensitive": False,
        "spiCat": [],
        EXTENSION_KEY: {
            "recordId": record.pk,
            "action": record.action,
            "actionLabel": record.get_action_display(),
            "aboutKind": record.about_kind,
            "aboutId": record.about_id,
            "recordedAt": record.recorded_at.isoformat(),
            "termsSha256": record.terms_sha256,
            # Where the stored terms document (the exact words shown) can be read and re-hashed.
            "termsUrl": terms_url,
            "termsVersion": record.terms_version,
            "channel": record.channel,
            "ipAddress": record.ip_address,
            "userAgent": record.user_agent,
            "privateReasonGiven": bool(record.private_reason),
            "recordHash": record.hash,
            "previousRecordHash": record.prev_hash,
        },
    }
