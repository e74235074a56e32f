"""Storing and finding terms documents: the words shown, addressed by the hash of their text.

Workflows render their own documents (a proposal's facts, a purpose's description) as a JSON
structure; this module only fixes the canonical text, hashes it and stores it once.
"""

import json

from consent.ledger import sha256_of
from consent.models import TermsDocument


def canonical_body(content: dict) -> str:
    """The one text that is hashed and stored: sorted keys, no spaces, ASCII escapes.

    The same serialisation `sha256_of` uses for a structure, so documents stored before this
    table existed keep the fingerprints already written to the ledger.
    """
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)


def document_for(content: dict, *, language: str, translation_of: str = "") -> TermsDocument:
    """An unsaved document for `content` (its key is the sha256 of its canonical body)."""
    body = canonical_body(content)
    return TermsDocument(
        sha256=sha256_of(body), language=language, body=body, translation_of=translation_of
    )


def store(documents: list[TermsDocument]) -> None:
    """Insert the documents not stored yet. Two writers storing the same words at once is
    fine: the words are the key, so the second insert is ignored."""
    unique = {d.sha256: d for d in documents}
    TermsDocument.objects.bulk_create(list(unique.values()), ignore_conflicts=True, batch_size=1000)


def find(sha256: str) -> TermsDocument | None:
    return TermsDocument.objects.filter(sha256=sha256).first()


def translations_of(sha256: str):
    return TermsDocument.objects.filter(translation_of=sha256)
