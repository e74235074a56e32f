"""Consent receipts modelled on the Kantara Initiative Consent Receipt Specification v1.1.

A receipt is built from one ConsentRecord and the terms document it pins, so the ledger stays
ignorant of workflows: what was decided is named by the stored document (its title and its
rows, the exact words the person read: teams, proposer, start date), worded by the kind its
workflow registered in `consent.kinds` when no document is stored, and the decision is named
the way the person knew it (the kind's `decision_label`). Fields that the specification
defines keep its names; portal-specific facts (action, hashes, channel, the document's rows)
sit under one extension key. The controller block comes from settings (PORTAL_CONTROLLER_*,
PORTAL_JURISDICTION; see the README), because the controller is the employer, not the
software. tests/consent/schemas/ holds the v1.1 JSON schema every receipt is checked against.
"""

from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from consent import kinds, terms
from consent.models import ConsentRecord

SPEC_VERSION = "KI-CR-v1.1.0"
EXTENSION_KEY = "x-consent-portal"


@dataclass(frozen=True)
class Decided:
    """What one record says was decided, in words."""

    kind: kinds.Kind
    decision: str  # the act as the person knew it ("Undrafted", "Chose to stay", ...)
    title: str  # the terms document's title, else the kind's label
    rows: list[list[str]]  # the document's facts as [label, value]; empty without a document
    language: str  # the language of `title` and `rows` (the document's), else the active one


def _document_words(content: dict | None) -> tuple[str, list[list[str]]]:
    """Title and rows of a stored document, if it has them (documents of a first format kept
    their fields only, and are named by their kind instead)."""
    if not isinstance(content, dict) or not isinstance(content.get("title"), str):
        return "", []
    rows = [
        [str(row[0]), str(row[1])]
        for row in content.get("rows") or []
        if isinstance(row, list | tuple) and len(row) == 2
    ]
    return content["title"], rows


def decided(record: ConsentRecord) -> Decided:
    kind = kinds.get(record.about_kind)
    document = terms.find(record.terms_sha256)
    content = document.content if document is not None else None
    title, rows = _document_words(content)
    decision = None
    if kind.decision_label:
        decision = import_string(kind.decision_label)(record.action, content)
    return Decided(
        kind=kind,
        decision=decision or str(record.get_action_display()),
        title=title or str(kind.label),
        rows=rows,
        language=document.language
        if title and document is not None
        else (translation.get_language() or settings.LANGUAGE_CODE),
    )


def controller() -> dict:
    """The PII controller block: the employer, from settings. Unset name and contact read as
    what they are (the person's employer and HR partner) rather than as blanks."""
    address = settings.PORTAL_CONTROLLER_ADDRESS
    return {
        "piiController": settings.PORTAL_CONTROLLER_NAME or _("Your employer"),
        "contact": settings.PORTAL_CONTROLLER_CONTACT or _("Your HR partner"),
        # v1.1 gives the address as a postal-address object; ours is one configured line.
        "address": {"streetAddress": address} if address else {},
        "email": settings.PORTAL_CONTROLLER_EMAIL or parseaddr(settings.DEFAULT_FROM_EMAIL)[1],
        "phone": settings.PORTAL_CONTROLLER_PHONE,
    }


def _collection_method(channel: str) -> str:
    methods = {
        ConsentRecord.Channel.WEB: _("Web form, signed in"),
        ConsentRecord.Channel.API: _("API"),
        ConsentRecord.Channel.SYSTEM: _("Recorded by the system"),
        ConsentRecord.Channel.IMPORT: _("Imported"),
    }
    return methods.get(channel, channel)


def _purpose(what: Decided) -> str:
    """The purpose in the document's own words: its title, then its facts."""
    if not what.rows:
        return what.title
    facts = "; ".join(f"{label}: {value}" for label, value in what.rows)
    return f"{what.title} ({facts})"


def build_receipt(
    record: ConsentRecord,
    *,
    policy_url: str = "",
    terms_url: str = "",
    withdraw_url: str = "",
    what: Decided | None = None,
) -> dict:
    """The receipt as a JSON-ready dict. The private reason is never included: receipts get
    emailed and downloaded, and the reason stays in the ledger only. `withdraw_url` is the page
    where the decision is changed (the policy page when not given)."""
    what = what or decided(record)
    subject = record.subject
    kind = what.kind
    consent_given = record.action == ConsentRecord.Action.OPT_IN
    return {
        "version": SPEC_VERSION,
        "jurisdiction": settings.PORTAL_JURISDICTION,
        "consentTimestamp": int(record.recorded_at.timestamp()),
        "collectionMethod": _collection_method(record.channel),
        # Stable for life: a record re-chained into a newer format keeps the id its receipts
        # were issued with (its format-1 hash); records written since are named by their hash.
        "consentReceiptID": record.legacy_hash or record.hash,
        "language": translation.get_language() or settings.LANGUAGE_CODE,
        "piiPrincipalId": subject.email or subject.get_username(),
        "piiControllers": [controller()],
        "policyUrl": policy_url,
        "services": [
            {
                "service": str(kind.label),
                "purposes": [
                    {
                        "purpose": _purpose(what),
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
            "actionLabel": what.decision,
            "aboutKind": record.about_kind,
            "aboutId": record.about_id,
            "recordedAt": record.recorded_at.isoformat(),
            # What was decided, exactly as the stored terms document words it.
            "terms": {"title": what.title, "rows": what.rows, "language": what.language},
            "termsSha256": record.terms_sha256,
            # Where the stored terms document (the exact words shown) can be read and re-hashed.
            "termsUrl": terms_url,
            "termsVersion": record.terms_version,
            "channel": record.channel,
            "ipAddress": record.ip_address,
            "userAgent": record.user_agent,
            "privateReasonGiven": record.reason_given,
            "recordHash": record.hash,
            "previousRecordHash": record.prev_hash,
            # The record's place in the chain: a checkpoint names sequence numbers too.
            "recordSequence": record.seq,
            "ledgerFormat": record.format,
            # ISO/IEC TS 27560: how to withdraw, and the history of this consent.
            "withdrawalMethod": withdrawal_method(record, what, withdraw_url or policy_url),
            "eventHistory": event_history(record),
        },
    }


def withdrawal_method(record: ConsentRecord, what: Decided, url: str) -> dict:
    """Where and how the decision is changed: on its own page, with one action (invariant 3:
    saying no is as easy as saying yes)."""
    consent_given = record.action == ConsentRecord.Action.OPT_IN
    kind = what.kind
    return {
        "url": url,
        "actions": 1,
        "method": "one action",
        "description": str(kind.termination_text if consent_given else kind.withdrawal_text),
    }


def event_history(record: ConsentRecord) -> list[dict]:
    """Every ledger record of this subject about the same thing, oldest first, up to and
    including this one (a receipt is a snapshot: it never changes once issued). Action, time
    and hash only: never a private reason, never another person's record."""
    history = ConsentRecord.objects.filter(
        subject_id=record.subject_id,
        about_kind=record.about_kind,
        about_id=record.about_id,
        pk__lte=record.pk,
    ).order_by("pk")
    return [
        {"action": action, "time": recorded_at.isoformat(), "recordHash": digest}
        for action, recorded_at, digest in history.values_list("action", "recorded_at", "hash")
    ]
