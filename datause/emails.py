"""Every message about data use, written inside the change's transaction (see
assignments/emails.py for the pattern): the context holds codes and names, and the templates
(templates/emails/data_use_receipt_*) choose the words in the reader's language."""

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse

from notifications.models import Notification
from notifications.services import NotificationSpec, notify_many

RECEIPT = "data_use_receipt"  # the notification kind, and its templates' name


def data_use_receipt(record, purpose, employee) -> None:
    """The person's receipt for their own choice (they are its only recipient)."""
    notify_many(
        [
            NotificationSpec(
                recipient_id=record.subject_id,
                kind=RECEIPT,
                dedupe_key=f"{RECEIPT}:{record.pk}",
                context={
                    "employee_name": employee.name,
                    "purpose_title": purpose.title,
                    "purpose_version": purpose.version,
                    "validity_months": purpose.validity_months,
                    "collecting_system": purpose.collecting_system,
                    "action": record.action,
                    "record_id": record.pk,
                    "recorded_at": record.recorded_at.isoformat(),
                    "receipt_url": reverse("consent:receipt", args=[record.pk]),
                    "terms_sha256": record.terms_sha256,
                    "record_hash": record.hash,
                },
                url=reverse("datause:privacy"),
            )
        ]
    )


# A new version: the earlier answer no longer counts.
ASKED_AGAIN = Notification.Kind.DATA_USE_ASKED_AGAIN
LAPSE_REMINDER = Notification.Kind.DATA_USE_LAPSE_REMINDER  # an opt-in lapses soon


def asked_again(purpose, people: list[tuple[int, str]]) -> None:
    """Everyone who decided about an earlier version of `purpose` (user id, name): told, and
    asked to decide about this one. Each person once per version (the dedupe key)."""
    notify_many(
        [
            NotificationSpec(
                recipient_id=user_id,
                kind=ASKED_AGAIN,
                dedupe_key=f"{ASKED_AGAIN}:{purpose.pk}:{user_id}",
                context={
                    "employee_name": name,
                    "purpose_title": purpose.title,
                    "purpose_version": purpose.version,
                    "collecting_system": purpose.collecting_system,
                },
                url=reverse("datause:privacy"),
            )
            for user_id, name in people
        ],
        keys_are_new=True,
    )


@dataclass(frozen=True)
class LapseDue:
    record_id: int
    user_id: int
    name: str
    purpose: object
    valid_until: datetime


def lapse_reminders(due: list[LapseDue]) -> int:
    """One reminder per opt-in that lapses soon; a second run sends nothing (the dedupe key
    names the opt-in record). Returns how many are new."""
    return len(
        notify_many(
            [
                NotificationSpec(
                    recipient_id=d.user_id,
                    kind=LAPSE_REMINDER,
                    dedupe_key=f"{LAPSE_REMINDER}:{d.record_id}",
                    context={
                        "employee_name": d.name,
                        "purpose_title": d.purpose.title,
                        "purpose_version": d.purpose.version,
                        "collecting_system": d.purpose.collecting_system,
                        "deadline": d.valid_until.isoformat(),  # formatted by the template
                        "record_id": d.record_id,
                    },
                    url=reverse("datause:privacy"),
                )
                for d in due
            ]
        )
    )
