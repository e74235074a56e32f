"""Consent receipts modelled on the Kantara Initiative Consent Receipt Specification v1.1.

A receipt is built from one ConsentRecord and nothing else, so the ledger stays ignorant of
workflows: what the decision was about is named by `about_kind`/`about_id`, and the exact
terms are pinned by their sha256. Fields that the specification defines keep its names;
portal-specific facts (action, hashes, channel) sit under one extension key.
"""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from consent.models import ConsentRecord

SPEC_VERSION = "KI-CR-v1.1.0"
EXTENSION_KEY = "x-consent-portal"


def _about_label(about_kind: str) -> str:
    labels = {
        "proposal": _("Proposal to change team"),
        "data_use": _("Use of work data"),
    }
    return labels.get(about_kind, about_kind)


def _collection_method(channel: str) -> str:
    methods = {
        ConsentRecord.Channel.WEB: _("Web form, signed in"),
        ConsentRecord.Channel.API: _("API"),
        ConsentRecord.Channel.SYSTEM: _("Recorded by the system"),
        ConsentRecord.Channel.IMPORT: _("Imported"),
    }
    return methods.get(channel, channel)


def build_receipt(record: ConsentRecord, *, policy_url: str = "") -> dict:
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
                "service": _about_label(record.about_kind),
                "purposes": [
                    {
                        "purpose": f"{_about_label(record.about_kind)} #{record.about_id}",
                        "purposeCategory": [_("Employment: team assignment")]
                        if record.about_kind == "proposal"
                        else [],
                        "consentType": "EXPLICIT" if record.actor_id else "NONE",
                        "piiCategory": [_("Name"), _("Team"), _("Role")],
                        "primaryPurpose": True,
                        "termination": _(
                            "You can withdraw this consent at any time before the start date; "
                            "after a move you can undraft."
                        )
                        if consent_given
                        else _("No consent given."),
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
            "termsVersion": record.terms_version,
            "channel": record.channel,
            "ipAddress": record.ip_address,
            "userAgent": record.user_agent,
            "privateReasonGiven": bool(record.private_reason),
            "recordHash": record.hash,
            "previousRecordHash": record.prev_hash,
        },
    }
