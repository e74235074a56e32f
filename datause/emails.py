"""Every message about data use, written inside the change's transaction (see
assignments/emails.py for the pattern): the context holds codes and names, and the templates
(templates/emails/data_use_receipt_*) choose the words in the reader's language."""

from django.urls import reverse

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
