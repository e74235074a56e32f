"""Reads of purposes, and of the signed-in person's own data-use choices (nobody else's)."""

from django.db.models import OuterRef, QuerySet, Subquery

from consent.models import ConsentRecord
from datause.check import DATA_USE
from datause.models import DataUsePurpose


def current_purposes() -> QuerySet[DataUsePurpose]:
    """The newest published version of every purpose."""
    published = DataUsePurpose.objects.filter(published_at__isnull=False)
    newest = published.filter(slug=OuterRef("slug")).order_by("-version").values("pk")[:1]
    return published.filter(pk=Subquery(newest)).select_related("owner").order_by("title", "slug")


def newest_version_of(slug: str) -> DataUsePurpose | None:
    return (
        DataUsePurpose.objects.filter(slug=slug, published_at__isnull=False)
        .order_by("-version")
        .first()
    )


def own_latest_records(user, purposes) -> dict[str, ConsentRecord]:
    """The person's newest record per purpose version (about_id -> record), in one query."""
    about_ids = [p.about_id for p in purposes]
    latest: dict[str, ConsentRecord] = {}
    for record in ConsentRecord.objects.filter(
        subject=user, about_kind=DATA_USE, about_id__in=about_ids
    ).order_by("-id"):
        latest.setdefault(record.about_id, record)
    return latest
