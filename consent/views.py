"""A person's own consent receipts: a page, a JSON download and the signed JWS. Nobody else's is
reachable. The receipt signing keys are public, at /.well-known/jwks.json."""

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from consent import kinds, signing, terms
from consent.receipts import build_receipt, decided
from consent.selectors import private_reason_of, reason_erased, records_of


def _own_record(request, record_id):
    # Limited to the signed-in subject: another person's receipt is a 404, whatever the role.
    return get_object_or_404(records_of(request.user).select_related("subject"), pk=record_id)


def _about_url(record, kind: kinds.Kind) -> str:
    # The ledger does not import workflows; it links to the page its kind registered, by name.
    if not kind.url_name:
        return ""
    try:
        return reverse(kind.url_name, args=[record.about_id])
    except NoReverseMatch:
        return ""


def _receipt_of(request, record_id):
    """The signed-in person's record, what it decided in words, its page link and receipt."""
    record = _own_record(request, record_id)
    what = decided(record)
    about_url = _about_url(record, what.kind)
    data = build_receipt(
        record,
        policy_url=request.build_absolute_uri(about_url) if about_url else "",
        terms_url=request.build_absolute_uri(reverse("consent:terms", args=[record.terms_sha256])),
        withdraw_url=request.build_absolute_uri(about_url or "/"),
        what=what,
    )
    return record, what, about_url, data


@login_required
@require_GET
def receipt(request, record_id):
    record, what, about_url, data = _receipt_of(request, record_id)
    return render(
        request,
        "consent/receipt.html",
        {
            "record": record,
            "receipt": data,
            "kind": what.kind,
            "decided": what,
            "controller": data["piiControllers"][0],
            "about_url": about_url,
            # Opened for the signed-in subject only (the record is theirs: _own_record).
            "private_reason": private_reason_of(record, request.user),
            "reason_erased": reason_erased(record),
        },
    )


@login_required
@require_GET
def receipt_json(request, record_id):
    record, _what, _about_url, data = _receipt_of(request, record_id)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="consent-receipt-{record.pk}.json"'
    return response


@login_required
@require_GET
def receipt_jws(request, record_id):
    """The same receipt as the JSON, signed: a compact JWS anyone can check offline against
    /.well-known/jwks.json (or `manage.py verify_receipt`)."""
    record, _what, _about_url, data = _receipt_of(request, record_id)
    response = HttpResponse(signing.sign(data), content_type=signing.MEDIA_TYPE)
    response["Content-Disposition"] = f'attachment; filename="receipt-{record.pk}.jws"'
    return response


@require_GET
@cache_control(public=True, max_age=3600)
def jwks(request):
    """The receipt signing keys, public halves only: the current one first, then the retired
    ones, so every receipt ever issued still verifies."""
    return HttpResponse(json.dumps(signing.jwks(), indent=2), content_type=signing.JWKS_MEDIA_TYPE)


def _may_read_terms(user, document) -> bool:
    # The people whose own records pin these words, and whoever a workflow says may read them.
    if records_of(user).filter(terms_sha256=document.sha256).exists():
        return True
    return any(
        import_string(kind.terms_reader)(user, document)
        for kind in kinds.registered()
        if kind.terms_reader
    )


@login_required
@require_GET
def terms_document(request, sha256):
    """The stored terms document: exactly the words shown, re-hashable from the page."""
    document = terms.find(sha256)
    if document is None or not _may_read_terms(request.user, document):
        raise Http404
    return render(
        request,
        "consent/terms.html",
        {
            "document": document,
            "content": document.content,
            "original": terms.find(document.translation_of) if document.translation_of else None,
        },
    )
