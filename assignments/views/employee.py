"""The employee's pages: inbox, proposal, and each decision with its confirmation step."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from assignments import services, terms, transitions
from assignments.forms import (
    OptOutForm,
    TermsForm,
    UndraftForm,
    WithdrawConsentForm,
    apply_service_errors,
)
from assignments.models import Proposal
from assignments.permissions import can_decide
from assignments.selectors import (
    inbox_for,
    inbox_list_for,
    placement_request_from,
    timeline_for,
    undraft_team_choices,
)
from assignments.services import placement
from consent.models import ConsentRecord
from consent.selectors import records_about
from consent.services import RequestContext
from people.selectors import display_name, employee_for, team_changes_for
from portal.errors import TransitionError

State = Proposal.State
Kind = Proposal.Kind

# The page informs before it asks: the decision comes after the facts, the work and what
# saying no means. When that much reading (or a long history) pushes the buttons far down,
# they are offered once more at the very end of the page.
LONG_PAGE_CHARS = 1200
LONG_TIMELINE = 8


def _already_recorded(decision: str, proposal) -> bool:
    """Whether the proposal is already where this decision would leave it (a repeat)."""
    action = "opt_out" if decision == "undraft" and proposal.kind == Kind.RETROACTIVE else decision
    target = transitions.target_state(action, proposal)
    return target is not None and proposal.state == target


def _request_context(request) -> RequestContext:
    # REMOTE_ADDR only: a client-supplied X-Forwarded-For would let anyone forge the ledger's
    # IP. A deployment behind a proxy sets REMOTE_ADDR from the proxy's header itself.
    return RequestContext(
        channel=ConsentRecord.Channel.WEB,
        ip_address=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )


@login_required
@require_GET
def inbox(request):
    employee = employee_for(request.user)
    proposals = list(inbox_list_for(employee)) if employee else []
    pending = [p for p in proposals if p.state == State.PENDING]
    decided = [p for p in proposals if p.state != State.PENDING]
    for proposal in pending:  # passed but not yet swept by the expiry task
        proposal.deadline_passed = transitions.deadline_passed(proposal)
    # Team changes the HRIS made between regular teams: audited, and shown to the person.
    team_changes = list(team_changes_for(employee)[:20]) if employee else []
    return render(
        request,
        "assignments/inbox.html",
        {
            "employee": employee,
            "pending": pending,
            "decided": decided,
            "team_changes": team_changes,
        },
    )


def _own_proposal(request, pk) -> Proposal:
    """The signed-in person's own proposal; anyone else's is a 404, whatever their role."""
    employee = employee_for(request.user)
    if employee is None:
        raise Http404
    proposal = get_object_or_404(inbox_for(employee), pk=pk)
    if not can_decide(request.user, proposal):  # defence in depth: the selector already did it
        raise Http404
    return proposal


def _actions(proposal) -> frozenset[str]:
    """What the transition table lets the person do now (Undraft also needs no open request)."""
    return transitions.available_actions(
        proposal, has_open_placement=placement.has_open_request(proposal.employee_id)
    )


def _proposal_context(request, proposal, **extra) -> dict:
    records = list(
        records_about(services.PROPOSAL, proposal.pk).filter(subject=request.user).order_by("-id")
    )
    actions = _actions(proposal)
    document = terms.shown_document(proposal, translation.get_language())
    shown = terms.display(document) if document else None
    timeline = timeline_for(proposal)
    placed = (
        placement_request_from(proposal)
        if proposal.state in (State.OPTED_OUT, State.EFFECTIVE)
        else None
    )
    return {
        "proposal": proposal,
        "proposer_name": display_name(proposal.proposed_by),
        "is_retroactive": proposal.kind == Kind.RETROACTIVE,
        "deadline_passed": transitions.deadline_passed(proposal),
        "actions": actions,
        "can_undraft": "undraft" in actions,
        # What saying no means matters while there is still something to say no to.
        "show_guarantee": proposal.state in (State.PENDING, State.OPTED_IN, State.EFFECTIVE),
        "records": records,
        "timeline": timeline,
        # The proposer's own words, owed to the person (never the person's private reason).
        "withdraw_reason": next(
            (entry.reason for entry in reversed(timeline) if entry.kind == "withdrawn"), ""
        ),
        "placement_request": placed,
        "long_page": _is_long(shown, timeline),
        # The page renders the stored document, and the decision is bound to its hash.
        "terms_document": document,
        "terms": shown,
        "terms_form": TermsForm(initial={"terms_sha256": document.sha256 if document else ""}),
        "withdraw_form": WithdrawConsentForm(),
        **extra,
    }


def _is_long(shown, timeline) -> bool:
    reading = sum(len(paragraph) for paragraph in shown["work"]) if shown else 0
    return reading > LONG_PAGE_CHARS or len(timeline) > LONG_TIMELINE


@login_required
@require_GET
def proposal_detail(request, pk):
    proposal = _own_proposal(request, pk)
    context = _proposal_context(request, proposal)
    # Only the page itself repeats the buttons; the confirmation steps have one button.
    context["repeat_decision"] = context["long_page"]
    return render(request, "assignments/proposal.html", context)


def _refused(request, proposal, message):
    """Say in words why a decision could not be recorded; nothing was written."""
    context = _proposal_context(request, proposal, refusal=message)
    return render(request, "assignments/refused.html", context, status=409)


def _latest_receipt_url(request, proposal) -> str:
    record = records_about(services.PROPOSAL, proposal.pk).filter(subject=request.user).last()
    if record is None:
        return reverse("assignments:proposal", args=[proposal.pk])
    return reverse("consent:receipt", args=[record.pk])


def _record_decision(request, proposal, decision: str, call, success: str):
    """Run one decision service and answer the browser; a repeat is recognised, not re-recorded.

    The services lock the proposal row and check its state, so a second submission of the
    same decision (double click, resubmitted form) fails inside the service and writes nothing;
    here it becomes a friendly redirect to the receipt of the decision already on record.
    """
    try:
        result = call()
    except TransitionError as exc:
        proposal.refresh_from_db(fields=["state", "decided_at", "response_deadline"])
        if _already_recorded(decision, proposal):
            messages.info(request, _("Your decision was already recorded; nothing was added."))
            return redirect(_latest_receipt_url(request, proposal))
        return _refused(request, proposal, exc.message)
    except PermissionDenied as exc:  # only possible if the selector let someone else through
        raise Http404 from exc
    messages.success(request, success)
    if isinstance(result, ConsentRecord):
        return redirect("consent:receipt", record_id=result.pk)
    return redirect(_latest_receipt_url(request, proposal))


@login_required
@require_http_methods(["GET", "POST"])
def opt_in(request, pk):
    proposal = _own_proposal(request, pk)
    if request.method == "POST":
        form = TermsForm(request.POST)
        if form.is_valid():
            return _record_decision(
                request,
                proposal,
                "opt_in",
                lambda: services.opt_in(
                    proposal=proposal,
                    actor=request.user,
                    terms_sha256=form.cleaned_data["terms_sha256"],
                    context=_request_context(request),
                ),
                _("Recorded: you are staying. Here is your receipt.")
                if proposal.kind == Kind.RETROACTIVE
                else _("Recorded: you opted in. Here is your receipt."),
            )
        return _refused(
            request, proposal, _("The form was incomplete; read the terms and try again.")
        )
    if "opt_in" not in _actions(proposal):
        return redirect("assignments:proposal", pk=proposal.pk)
    return render(request, "assignments/confirm_opt_in.html", _proposal_context(request, proposal))


@login_required
@require_http_methods(["GET", "POST"])
def opt_out(request, pk):
    proposal = _own_proposal(request, pk)
    if proposal.kind == Kind.RETROACTIVE:
        # For a retroactive confirmation, saying no is the undraft (with preferences).
        return redirect("assignments:undraft", pk=proposal.pk)
    form = OptOutForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        return _record_decision(
            request,
            proposal,
            "opt_out",
            lambda: services.opt_out(
                proposal=proposal,
                actor=request.user,
                context=_request_context(request),
                private_reason=form.cleaned_data["private_reason"],
            ),
            _("Recorded: you opted out. Nothing changes for you. Here is your receipt."),
        )
    if request.method == "GET" and "opt_out" not in _actions(proposal):
        return redirect("assignments:proposal", pk=proposal.pk)
    return render(
        request, "assignments/confirm_opt_out.html", _proposal_context(request, proposal, form=form)
    )


@login_required
@require_http_methods(["GET", "POST"])
def withdraw_consent(request, pk):
    proposal = _own_proposal(request, pk)
    form = WithdrawConsentForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        return _record_decision(
            request,
            proposal,
            "withdraw_consent",
            lambda: services.withdraw_consent(
                proposal=proposal,
                actor=request.user,
                context=_request_context(request),
                private_reason=form.cleaned_data["private_reason"],
            ),
            _("Recorded: you withdrew your consent. You stay where you are. Here is your receipt."),
        )
    if request.method == "GET" and "withdraw_consent" not in _actions(proposal):
        return redirect("assignments:proposal", pk=proposal.pk)
    return render(
        request,
        "assignments/withdraw_consent.html",
        _proposal_context(request, proposal, withdraw_form=form),
    )


@login_required
@require_http_methods(["GET", "POST"])
def undraft(request, pk):
    """After a move, or instead of confirming a retroactive one: leave, with placement help."""
    proposal = _own_proposal(request, pk)
    # A retroactive confirmation's "Undraft" is its opt-out; after a move it is the undraft.
    retroactive_pending = proposal.kind == Kind.RETROACTIVE and proposal.state == State.PENDING
    choices = undraft_team_choices(
        current_team_id=proposal.to_team_id, previous_team_id=proposal.from_team_id
    )
    form = UndraftForm(request.POST if request.method == "POST" else None, choices=choices)
    if request.method == "POST" and form.is_valid():
        preferences = form.cleaned_data["team_preferences"]
        reason = form.cleaned_data["private_reason"]
        if retroactive_pending:

            def call():
                return services.opt_out(
                    proposal=proposal,
                    actor=request.user,
                    context=_request_context(request),
                    private_reason=reason,
                    team_preferences=preferences,
                )

        else:

            def call():
                return services.undraft(
                    proposal=proposal,
                    actor=request.user,
                    context=_request_context(request),
                    team_preferences=preferences,
                    private_reason=reason,
                )

        success = _(
            "Recorded: you undrafted. HR will offer you a place with preferential priority. "
            "Here is your receipt."
        )
        try:
            return _record_decision(request, proposal, "undraft", call, success)
        except ValidationError as exc:
            apply_service_errors(form, exc)
    elif request.method == "GET":
        needed = "opt_out" if retroactive_pending else "undraft"
        if needed not in _actions(proposal):
            return redirect("assignments:proposal", pk=proposal.pk)
    return render(
        request,
        "assignments/undraft.html",
        _proposal_context(request, proposal, form=form, team_choices=choices),
    )
