"""The employee's data-use choices (/privacy/purposes/, and the first section of the privacy
centre at /privacy/): every purpose, one action each way, a confirmation step that works without
JavaScript, and receipts. Only ever the signed-in person's own choices: no page shows anyone
else's."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from consent.models import ConsentRecord
from consent.services import RequestContext
from datause import services, terms
from datause.check import answer
from datause.selectors import current_purposes, own_latest_records
from people.selectors import employee_for
from portal.errors import TransitionError


class TermsForm(forms.Form):
    """Binds a choice to the exact words the person was shown (their sha256)."""

    terms_sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64)


def _request_context(request) -> RequestContext:
    # REMOTE_ADDR only, as for proposals: a client-supplied header could forge the ledger's IP.
    return RequestContext(
        channel=ConsentRecord.Channel.WEB,
        ip_address=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )


def _rows(request, purposes):
    latest = own_latest_records(request.user, purposes)
    now = timezone.now()
    language = translation.get_language()
    rows = []
    shown = terms.shown_documents(purposes, language)  # one query for every purpose
    for purpose in purposes:
        record = latest.get(purpose.about_id)
        document = shown[purpose.pk]
        rows.append(
            {
                "purpose": purpose,
                "record": record,
                "state": answer(purpose, record, now),
                "document": document,
                "terms": document.content if document else None,
            }
        )
    return rows


def choices_for(request) -> dict:
    """The signed-in person's data-use choices, one row per current purpose: the context of
    templates/datause/_choices.html, which this page and the privacy centre (/privacy/) show."""
    employee = employee_for(request.user)
    rows = _rows(request, list(current_purposes())) if employee else []
    return {"employee": employee, "rows": rows}


@login_required
@require_http_methods(["GET"])
def privacy(request):
    return render(request, "datause/privacy.html", choices_for(request))


def _own_row(request, slug):
    if employee_for(request.user) is None:
        raise Http404
    purposes = [p for p in current_purposes() if p.slug == slug]
    if not purposes:
        raise Http404
    return _rows(request, purposes)[0]


@login_required
@require_http_methods(["GET", "POST"])
def decide(request, slug, choice):
    """GET shows the confirmation step; POST records the choice and opens the receipt."""
    row = _own_row(request, slug)
    purpose = row["purpose"]
    if request.method == "POST":
        form = TermsForm(request.POST)
        if form.is_valid():
            service = services.opt_in if choice == "opt_in" else services.opt_out
            try:
                record = service(
                    purpose=purpose,
                    actor=request.user,
                    terms_sha256=form.cleaned_data["terms_sha256"],
                    context=_request_context(request),
                )
            except (TransitionError, ValidationError) as exc:
                message = exc.message if isinstance(exc, TransitionError) else exc.messages[0]
                messages.error(request, message)
                return redirect("datause:privacy")
            except PermissionDenied as exc:
                raise Http404 from exc
            if record == row["record"]:
                messages.info(request, _("Your choice was already recorded; nothing was added."))
            elif choice == "opt_in":
                messages.success(request, _("Recorded: you allowed it. Here is your receipt."))
            else:
                messages.success(
                    request, _("Recorded: nothing is collected from you. Here is your receipt.")
                )
            return redirect("consent:receipt", record_id=record.pk)
        # Not the words shown (no hash, or one that cannot be a hash): ask again, in words.
        messages.error(request, _("The form was incomplete; read the terms and try again."))
    document = row["document"]
    return render(
        request,
        "datause/confirm.html",
        {
            **row,
            "choice": choice,
            "form": TermsForm(initial={"terms_sha256": document.sha256 if document else ""}),
        },
        status=400 if request.method == "POST" else 200,
    )
