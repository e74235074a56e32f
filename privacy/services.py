"""The privacy centre's one state change: logging that a person exported their own data."""

from django.db import transaction

from privacy.models import DataExport


@transaction.atomic
def log_export(*, person, ip_address: str | None = None, user_agent: str = "") -> DataExport:
    """Record that `person` is downloading all their data. The caller builds the file inside
    the same transaction, after this row exists, so the file lists its own download and no
    file leaves without its row."""
    return DataExport.objects.create(
        person=person, ip_address=ip_address or None, user_agent=user_agent[:1000]
    )
