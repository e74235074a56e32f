"""Turning a Notification row into words: subject, plain text and HTML, in the recipient's own
time zone and language. Templates: templates/emails/<kind>_subject.txt, _body.txt, _body.html.

A row's context holds codes, names and ISO times, never finished words: the templates choose
the words for `kind`, `action`, `priority` and `channel` when they render, so a message reads
in its reader's language whoever's request wrote it (and the in-app list, which renders the
same subject templates, follows the reader's language of the moment). Dates and times are
formatted by the templates with the locale's DATE_FORMAT and DATETIME_FORMAT only, in the
active zone, which every email names in its footer.
"""

from datetime import date, datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation

from consent import signing
from consent.models import ConsentRecord
from notifications.models import Notification
from people.selectors import zone_and_language_for

_DATETIME_KEYS = (
    "deadline",
    "previous_deadline",
    "recorded_at",
    "expired_at",
    "applied_at",
    "created_at",
)
_DATE_KEYS = ("start_date", "day")


def _typed(context: dict) -> dict:
    """JSON holds strings; templates format real dates and times (in the active zone). An
    empty string stays empty: the template leaves out what is not known."""
    out = dict(context)
    for key in _DATETIME_KEYS:
        if isinstance(out.get(key), str) and out[key]:
            out[key] = datetime.fromisoformat(out[key])
    for key in _DATE_KEYS:
        if isinstance(out.get(key), str) and out[key]:
            out[key] = date.fromisoformat(out[key])
    for listing in ("expiring", "items"):
        out[listing] = [
            {**item, "deadline": datetime.fromisoformat(item["deadline"])}
            for item in out.get(listing) or []
        ]
    return out


def _language(code: str) -> str:
    return code if code in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def render(notification: Notification) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of a notification, in the recipient's zone and language."""
    zone, language = zone_and_language_for(notification.recipient_id)
    context = {
        **_typed(notification.context),
        "notification": notification,
        "base_url": settings.PORTAL_BASE_URL,
        "link": settings.PORTAL_BASE_URL + notification.url if notification.url else "",
    }
    name = f"emails/{notification.kind}"
    with timezone.override(zone), translation.override(_language(language)):
        subject = render_to_string(f"{name}_subject.txt", context)
        text = render_to_string(f"{name}_body.txt", context)
        html = render_to_string(f"{name}_body.html", context)
    return " ".join(subject.split()), text, html


def subject_for(notification: Notification) -> str:
    """The subject line in the reader's active zone and language (the in-app list)."""
    subject = render_to_string(
        f"emails/{notification.kind}_subject.txt", _typed(notification.context)
    )
    return " ".join(subject.split())


def build_message(notification: Notification, to: str) -> EmailMultiAlternatives:
    subject, text, html = render(notification)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={
            # Stable per notification: if a crash makes us send twice, mail clients (and the
            # tests) can tell it is the same message.
            "Message-ID": f"<{notification.dedupe_key.replace(':', '.')}@consent-portal>",
            "X-Portal-Notification": str(notification.pk),
        },
    )
    message.attach_alternative(html, "text/html")
    _attach_signed_receipt(message, notification)
    return message


# Receipts travel signed: the notice about a decision carries its record's receipt as a compact
# JWS the person can verify offline (consent.signing; keys at /.well-known/jwks.json).
SIGNED_RECEIPT_KINDS = frozenset({"decision_receipt", "data_use_receipt"})


def _attach_signed_receipt(message: EmailMultiAlternatives, notification: Notification) -> None:
    record_id = (notification.context or {}).get("record_id")
    if notification.kind not in SIGNED_RECEIPT_KINDS or not record_id:
        return
    record = ConsentRecord.objects.select_related("subject").filter(pk=record_id).first()
    if record is None or record.subject_id != notification.recipient_id:
        return  # only ever the recipient's own receipt
    _zone, language = zone_and_language_for(notification.recipient_id)
    with translation.override(_language(language)):
        token = signing.signed_receipt(record)
    message.attach(f"receipt-{record.pk}.jws", token.encode("ascii"), signing.MEDIA_TYPE)
