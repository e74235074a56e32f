"""The words of a data-use purpose: one source the page renders, the ledger pins and the
document store keeps, in the language the person reads (the pattern of assignments/terms.py).

`facts_of` snapshots everything a person agrees to (what is collected, why, retention, who may
access, the collecting system, how long consent lasts, the accountable owner and the recorded
approval); `render` turns the snapshot into the document, every label in one language. The
free text (title, why, retention, access) is the purpose's own, as HR wrote it.
"""

from django.conf import settings
from django.utils import formats, translation
from django.utils.translation import gettext as _

from consent import terms as documents
from consent.models import TermsDocument
from datause.models import Category, DataUsePurpose

FORMAT = "consent-portal/data-use-terms/1"


def facts_of(purpose: DataUsePurpose) -> dict:
    """The language-neutral snapshot of one purpose version (JSON primitives only)."""
    return {
        "slug": purpose.slug,
        "version": purpose.version,
        "title": purpose.title,
        "categories": list(purpose.categories),
        "why": purpose.why,
        "retention": purpose.retention,
        "access": purpose.access,
        "collecting_system": purpose.collecting_system,
        "validity_months": purpose.validity_months,
        "owner": purpose.owner.name if purpose.owner_id else "",
        "approver_kind": purpose.approver_kind,
        "approved_on": purpose.approved_on.isoformat() if purpose.approved_on else "",
        "approval_reference": purpose.approval_reference,
    }


def render(facts: dict, language: str) -> dict:
    """The document a reader of `language` is shown for these facts."""
    from datetime import date

    with translation.override(language):
        labels = dict(Category.choices)
        approvers = dict(DataUsePurpose.ApproverKind.choices)
        approved_on = (
            formats.date_format(date.fromisoformat(facts["approved_on"]), "DATE_FORMAT")
            if facts["approved_on"]
            else ""
        )
        collected = ", ".join(str(labels.get(c, c)) for c in facts["categories"])
        approval = _("%(approver)s, on %(date)s (reference %(reference)s)") % {
            "approver": approvers.get(facts["approver_kind"], facts["approver_kind"]),
            "date": approved_on,
            "reference": facts["approval_reference"],
        }
        rows = [
            [_("What is collected"), collected],
            [_("Why"), facts["why"]],
            [_("How long it is kept"), facts["retention"]],
            [_("Who may access it"), facts["access"]],
            [_("Collecting system"), facts["collecting_system"]],
            [
                _("Your consent lasts"),
                _("%(months)s months, then you are asked again")
                % {"months": facts["validity_months"]},
            ],
            [_("Accountable owner"), facts["owner"]],
            [_("Approved by"), approval],
            [_("Version"), str(facts["version"])],
        ]
        return {
            "format": FORMAT,
            "language": language,
            "facts": facts,
            "title": _("Use of your work data: %(title)s") % {"title": facts["title"]},
            "rows": rows,
            "guarantee_heading": _("If you say no"),
            "guarantee": [
                _("Nothing is collected from you for this purpose. Everyone starts at no."),
                _("Saying no is never used in reviews, pay or promotion."),
                _("You can change your mind at any time, with one click, on your privacy page."),
                _("Nobody in the company sees your choice: not your manager, not HR."),
            ],
            "version": str(facts["version"]),
        }


def issue(purpose: DataUsePurpose) -> TermsDocument:
    """Render and store the purpose's document in the site language; sets `terms_sha256`."""
    document = documents.document_for(
        render(facts_of(purpose), settings.LANGUAGE_CODE), language=settings.LANGUAGE_CODE
    )
    documents.store([document])
    purpose.terms_sha256 = document.sha256
    return document


def shown_document(purpose: DataUsePurpose, language: str) -> TermsDocument | None:
    """The document to show in `language`: the one issued, or its translation (rendered from
    the same stored facts, stored on first view). None for an unpublished purpose."""
    original = documents.find(purpose.terms_sha256) if purpose.terms_sha256 else None
    if original is None:
        return None
    if original.language == language or language not in dict(settings.LANGUAGES):
        return original
    translated = documents.document_for(
        render(original.content["facts"], language),
        language=language,
        translation_of=original.sha256,
    )
    documents.store([translated])
    return translated


def shown_documents(purposes, language: str) -> dict[int, TermsDocument | None]:
    """`shown_document` for many purposes (purpose pk -> document) in at most two queries,
    whatever their number: the issued documents, then the translations not stored yet."""
    hashes = {p.terms_sha256 for p in purposes if p.terms_sha256}
    originals = {d.sha256: d for d in TermsDocument.objects.filter(sha256__in=hashes)}
    languages = dict(settings.LANGUAGES)
    shown: dict[int, TermsDocument | None] = {}
    translations = []
    for purpose in purposes:
        original = originals.get(purpose.terms_sha256)
        if original is None or original.language == language or language not in languages:
            shown[purpose.pk] = original
        else:
            shown[purpose.pk] = documents.document_for(
                render(original.content["facts"], language),
                language=language,
                translation_of=original.sha256,
            )
            translations.append(shown[purpose.pk])
    if translations:
        documents.store(translations)
    return shown


def is_shown_terms(purpose: DataUsePurpose, sha256: str) -> bool:
    """Whether `sha256` names a stored document of this purpose version: nobody can agree to
    words that were never stored."""
    if not purpose.terms_sha256:
        return False
    if sha256 == purpose.terms_sha256:
        return documents.find(sha256) is not None
    return documents.translations_of(purpose.terms_sha256).filter(sha256=sha256).exists()


def may_read(user, document: TermsDocument) -> bool:
    """consent.kinds reader: a published purpose's words are for every signed-in person."""
    issued = document.translation_of or document.sha256
    return bool(
        getattr(user, "is_authenticated", False)
        and DataUsePurpose.objects.filter(terms_sha256=issued, published_at__isnull=False).exists()
    )
