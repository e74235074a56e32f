"""Reads for HR's purpose pages: purposes and their versions, never anyone's choice."""

from django.db.models import Prefetch

from consent.models import TermsDocument
from datause import terms
from datause.models import DataUsePurpose
from webhooks.models import WebhookEndpoint


def _with_relations(queryset):
    return queryset.select_related("owner").prefetch_related(
        Prefetch("webhook_endpoints", queryset=WebhookEndpoint.objects.order_by("url"))
    )


def purposes_for_hr() -> list[dict]:
    """One row per purpose: its newest version, and its newest published one. One query."""
    rows: dict[str, dict] = {}
    for purpose in DataUsePurpose.objects.select_related("owner").order_by("slug", "-version"):
        row = rows.setdefault(purpose.slug, {"newest": purpose, "live": None, "versions": 0})
        row["versions"] += 1
        if row["live"] is None and purpose.is_published:
            row["live"] = purpose
    return sorted(rows.values(), key=lambda r: (r["newest"].title.lower(), r["newest"].slug))


def versions_of(slug: str) -> list[DataUsePurpose]:
    """Every version of one purpose, newest first, with owner and endpoints. Two queries."""
    return list(_with_relations(DataUsePurpose.objects.filter(slug=slug)).order_by("-version"))


def purpose_version(slug: str, version: int) -> DataUsePurpose | None:
    return _with_relations(DataUsePurpose.objects.filter(slug=slug, version=version)).first()


def words_of(versions: list[DataUsePurpose], language: str) -> dict[int, dict]:
    """What an employee reads for each version (pk -> document content), in `language`: the
    stored words once published (rendered from their stored facts for another language), a
    preview before. One query for all the versions."""
    stored = {
        d.sha256: d
        for d in TermsDocument.objects.filter(
            sha256__in=[p.terms_sha256 for p in versions if p.terms_sha256]
        )
    }
    words = {}
    for purpose in versions:
        document = stored.get(purpose.terms_sha256)
        if document is None:
            words[purpose.pk] = terms.render(terms.facts_of(purpose), language)
        elif document.language == language:
            words[purpose.pk] = document.content
        else:
            words[purpose.pk] = terms.render(document.content["facts"], language)
    return words
