from django.db.models import QuerySet

from consent.models import ConsentRecord


def records_about(about_kind: str, about_id) -> QuerySet[ConsentRecord]:
    return ConsentRecord.objects.filter(about_kind=about_kind, about_id=str(about_id)).order_by(
        "id"
    )


def latest_record_about(about_kind: str, about_id) -> ConsentRecord | None:
    return records_about(about_kind, about_id).order_by("-id").first()


def records_of(subject) -> QuerySet[ConsentRecord]:
    """A person's own ledger, newest first."""
    return ConsentRecord.objects.filter(subject=subject).order_by("-id")
