"""The manager's pages: their proposals (filterable), propose, extend, withdraw.

Nothing here reads the consent ledger, so a private reason cannot reach a manager.
"""

import django_filters
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from assignments import services, transitions
from assignments.access import log_shown
from assignments.deadlines import add_working_days
from assignments.forms import (
    DATETIME_LOCAL,
    ExtendDeadlineForm,
    ProposeTransferForm,
    WithdrawProposalForm,
    apply_service_errors,
)
from assignments.models import Proposal
from assignments.permissions import can_manage_proposal, can_propose_for
from assignments.selectors import proposals_managed_by
from assignments.services.managing import ensure_may_withdraw
from assignments.services.proposing import FACTS
from people.models import Employee
from people.roles import is_hr, is_manager
from people.selectors import direct_reports, display_name
from portal.errors import TransitionError
from portal.numbers import as_id

State = Proposal.State
Kind = Proposal.Kind


class TeamProposalFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        choices=State.choices, label=gettext_lazy("Status"), empty_label=gettext_lazy("Any")
    )
    kind = django_filters.ChoiceFilter(
        choices=Kind.choices, label=gettext_lazy("Kind"), empty_label=gettext_lazy("Any")
    )

    class Meta:
        model = Proposal
        fields = ["state", "kind"]


def _require_manager(user) -> None:
    if not is_manager(user):
        raise PermissionDenied(_("Only managers and HR can see this page."))


@login_required
@require_GET
def team_proposals(request):
    _require_manager(request.user)
    filters = TeamProposalFilter(request.GET or None, queryset=proposals_managed_by(request.user))
    proposals = list(filters.qs)
    now = timezone.now()
    for proposal in proposals:  # what the transition table lets a manager do with each row
        proposal.actions = transitions.available_actions(proposal, by=transitions.MANAGER, now=now)
        if proposal.kind == Kind.RETROACTIVE and not is_hr(request.user):
            proposal.actions -= {"withdraw"}  # only HR withdraws one (ensure_may_withdraw)
    log_shown(request, proposals, purpose="team proposals")
    return render(
        request,
        "assignments/team_proposals.html",
        {"filter": filters, "proposals": proposals},
    )


@login_required
@require_http_methods(["GET", "POST"])
def propose(request):
    _require_manager(request.user)
    employees = direct_reports(request.user).exclude(user=request.user)
    if request.method == "POST":
        # Someone outside the manager's reports is refused outright (403), not as a form error.
        raw = request.POST.get("employee", "")
        target = (
            Employee.objects.select_related("manager").filter(pk=as_id(raw)).first()
            if as_id(raw) is not None
            else None
        )
        if target is not None and not can_propose_for(request.user, target):
            raise PermissionDenied(_("You can propose transfers only for your own direct reports."))
    form = ProposeTransferForm(
        request.POST if request.method == "POST" else None,
        employees=employees,
        contact=(display_name(request.user), request.user.email),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            proposal = services.propose_transfer(
                employee=data["employee"],
                to_team=data["to_team"],
                actor=request.user,
                role_description=data["role_description"],
                data_labelling_percent=data["data_labelling_percent"],
                start_date=data["start_date"],
                response_deadline=data["response_deadline"],
                **{name: data[name] for name in FACTS},
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                _(
                    "Proposal sent to %(name)s. Nothing changes unless they opt in before "
                    "the deadline."
                )
                % {"name": proposal.employee.name},
            )
            return redirect("assignments:team_proposals")
    return render(
        request,
        "assignments/propose.html",
        {"form": form, "min_days": settings.PORTAL_MIN_RESPONSE_WORKING_DAYS},
    )


def _managed_proposal(request, pk) -> Proposal:
    proposal = get_object_or_404(proposals_managed_by(request.user), pk=pk)
    if not can_manage_proposal(request.user, proposal):
        raise PermissionDenied
    return proposal


@login_required
@require_http_methods(["GET", "POST"])
def extend(request, pk):
    proposal = _managed_proposal(request, pk)
    suggested = timezone.localtime(add_working_days(proposal.response_deadline, 2))
    form = ExtendDeadlineForm(
        request.POST if request.method == "POST" else None,
        initial={"response_deadline": suggested.strftime(DATETIME_LOCAL)},
    )
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            services.extend_deadline(
                proposal=proposal,
                actor=request.user,
                new_deadline=form.cleaned_data["response_deadline"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        except TransitionError as exc:
            error = exc.message
        else:
            messages.success(
                request, _("Deadline extended for %(name)s.") % {"name": proposal.employee.name}
            )
            return redirect("assignments:team_proposals")
    status = 409 if error else 200
    return render(
        request,
        "assignments/extend.html",
        {"proposal": proposal, "form": form, "error": error},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def withdraw(request, pk):
    proposal = _managed_proposal(request, pk)
    form = WithdrawProposalForm(request.POST if request.method == "POST" else None)
    error = None
    try:
        ensure_may_withdraw(proposal, request.user)
    except PermissionDenied as refused:
        # Shown before anything is typed, and refused again by the service on POST.
        return render(
            request,
            "assignments/withdraw.html",
            {"proposal": proposal, "form": None, "error": refused.args[0]},
            status=403,
        )
    if request.method == "POST" and form.is_valid():
        try:
            services.withdraw_proposal(
                proposal=proposal, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        except TransitionError as exc:
            error = exc.message
        else:
            messages.success(
                request,
                _("Proposal withdrawn: nothing will change for %(name)s.")
                % {"name": proposal.employee.name},
            )
            return redirect("assignments:team_proposals")
    return render(
        request,
        "assignments/withdraw.html",
        {"proposal": proposal, "form": form, "error": error},
        status=409 if error else 200,
    )
