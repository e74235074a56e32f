"""The HR workspace (/hr/): campaigns, the placement queue, leave; and where each role lands.

HR needs no Django admin rights for any of it: every page checks `people.roles.is_hr` and
answers anyone else with 403. Views only translate: they read through `hr_selectors`, call one
service, and turn its errors into words on the page. Nothing here records a decision: HR
proposes and offers, and only the person decides.
"""

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from assignments import hr_selectors, services, tasks, terms
from assignments.access import log_shown
from assignments.hr_forms import (
    AudienceCsvForm,
    AudienceManagerForm,
    AudienceTeamsForm,
    CampaignForm,
    LeaveForm,
    OfferPlacementForm,
    RetroactiveImportForm,
    apply_service_errors,
)
from assignments.models import Campaign
from assignments.services.campaigns import response_deadline_for
from assignments.services.proposing import FACTS
from people.roles import is_hr, is_manager
from people.selectors import display_name
from portal.celery import enqueue_after_commit
from portal.errors import TransitionError
from portal.numbers import as_id

PAGE_SIZE = 50


def hr_only(view):
    """Signed in, and HR; anyone else gets 403 and nothing is read."""

    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_hr(request.user):
            raise PermissionDenied(_("Only HR can open the HR workspace."))
        return view(request, *args, **kwargs)

    return wrapper


@login_required
@require_GET
def start(request):
    """Where a signed-in person lands: HR on /hr/, managers on their team page, everyone else
    on their inbox (portal's home page sends them here; portal itself knows no roles)."""
    if is_hr(request.user):
        return redirect("hr:workspace")
    if is_manager(request.user):
        return redirect("assignments:team_proposals")
    return redirect("assignments:inbox")


@hr_only
@require_GET
def workspace(request):
    return render(request, "hr/workspace.html", {"summary": hr_selectors.workspace_summary()})


# --- Campaigns ----------------------------------------------------------------------------


@hr_only
@require_GET
def campaigns(request):
    page = Paginator(hr_selectors.campaigns_for_hr(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "hr/campaigns.html", {"page": page})


def _campaign_fields(form) -> dict:
    data = dict(form.cleaned_data)
    return {"target_teams": list(data.pop("target_teams")), **data}


@hr_only
@require_http_methods(["GET", "POST"])
def campaign_new(request):
    form = CampaignForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.create_campaign(actor=request.user, **_campaign_fields(form))
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Draft saved. Next: choose who it goes to."))
            return redirect("hr:campaign_audience", pk=campaign.pk)
    return render(request, "hr/campaign_form.html", {"form": form, "campaign": None})


def _campaign(pk) -> Campaign:
    return get_object_or_404(hr_selectors.campaign_for_hr(pk))


@hr_only
@require_http_methods(["GET", "POST"])
def campaign_edit(request, pk):
    campaign = _campaign(pk)
    if campaign.state != Campaign.State.DRAFT:
        messages.info(request, _("This campaign was sent; its words can no longer change."))
        return redirect("hr:campaign", pk=campaign.pk)
    form = CampaignForm(request.POST if request.method == "POST" else None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_campaign(
                campaign=campaign, actor=request.user, **_campaign_fields(form)
            )
        except (ValidationError, TransitionError) as exc:
            apply_service_errors(form, _as_validation_error(exc))
        else:
            messages.success(request, _("Draft saved."))
            return redirect("hr:campaign", pk=campaign.pk)
    return render(request, "hr/campaign_form.html", {"form": form, "campaign": campaign})


def _as_validation_error(exc) -> ValidationError:
    return exc if isinstance(exc, ValidationError) else ValidationError(exc.message)


def _progress_context(campaign) -> dict:
    return {"campaign": campaign, "progress": hr_selectors.campaign_progress(campaign)}


@hr_only
@require_GET
def campaign_detail(request, pk):
    campaign = _campaign(pk)
    return render(
        request,
        "hr/campaign.html",
        {
            **_progress_context(campaign),
            "target_teams": list(campaign.target_teams.order_by("name")),
            "breakdown": hr_selectors.audience_breakdown(campaign),
            "problems": services.readiness_errors(campaign),
        },
    )


@hr_only
@require_GET
def campaign_progress(request, pk):
    """The progress fragment, polled by htmx every two seconds while a send is under way.
    Answers 286 once every notice is out, which tells htmx to stop polling."""
    campaign = _campaign(pk)
    context = _progress_context(campaign)
    status = 286 if request.headers.get("HX-Request") and context["progress"].done else 200
    return render(request, "hr/_campaign_progress.html", context, status=status)


@hr_only
@require_GET
def manager_suggestions(request):
    """The managers matching what HR typed in a manager picker (htmx asks as they type)."""
    typed = request.GET.get("q") or request.GET.get("manager-manager", "")
    typed = typed[:254]
    return render(
        request,
        "hr/_manager_suggestions.html",
        {
            "typed": " ".join(typed.split()),
            "matches": hr_selectors.manager_suggestions(typed),
            "min_chars": hr_selectors.MANAGER_QUERY_MIN_CHARS,
            "limit": hr_selectors.MANAGER_SUGGESTIONS,
            "pick_name": "manager-pick",
        },
    )


@hr_only
@require_http_methods(["GET", "POST"])
def campaign_audience(request, pk):
    campaign = _campaign(pk)
    if campaign.state != Campaign.State.DRAFT:
        messages.info(request, _("This campaign was sent; its audience can no longer change."))
        return redirect("hr:campaign", pk=campaign.pk)
    source = request.POST.get("source") if request.method == "POST" else None
    forms = {
        "teams": AudienceTeamsForm(
            request.POST if source == "teams" else None, campaign=campaign, prefix="teams"
        ),
        "manager": AudienceManagerForm(
            request.POST if source == "manager" else None,
            campaign=campaign,
            prefix="manager",
        ),
        "csv": AudienceCsvForm(
            request.POST if source == "csv" else None,
            request.FILES if source == "csv" else None,
            campaign=campaign,
            prefix="csv",
        ),
    }
    row_errors = []
    form = forms.get(source)
    unknown_source = request.method == "POST" and form is None
    if unknown_source:  # not one of the page's three forms: say so, change nothing
        messages.error(request, _("Choose who it goes to."))
    if form is not None and form.is_valid():
        data = form.cleaned_data
        try:
            if source == "csv":
                result = services.choose_audience_from_csv(
                    campaign=campaign,
                    rows=[(n, cells[0], cells[1]) for n, cells in data["file"]],
                    default_team=data.get("to_team"),
                    label=_("Uploaded file: %(name)s") % {"name": request.FILES["csv-file"].name},
                    actor=request.user,
                )
            elif source == "teams":
                result = services.choose_audience(
                    campaign=campaign,
                    employees=hr_selectors.members_of(data["teams"]),
                    to_team=data["to_team"],
                    label=_("Teams: %(teams)s")
                    % {"teams": ", ".join(t.name for t in data["teams"])},
                    actor=request.user,
                )
            else:
                result = services.choose_audience(
                    campaign=campaign,
                    employees=hr_selectors.reports_of(data["manager"]),
                    to_team=data["to_team"],
                    label=_("Direct reports of %(name)s") % {"name": data["manager"].name},
                    actor=request.user,
                )
        except services.RowsRejected as exc:
            row_errors = exc.errors
        except (ValidationError, TransitionError) as exc:
            apply_service_errors(form, _as_validation_error(exc))
        else:
            if result["skipped"]:
                messages.warning(
                    request,
                    _("%(count)s people were left out because they cannot receive it: %(why)s")
                    % {"count": len(result["skipped"]), "why": " ".join(result["skipped"][:10])},
                )
            messages.success(
                request,
                _("Audience chosen: %(count)s people. Check the preview before sending.")
                % {"count": result["chosen"]},
            )
            return redirect("hr:campaign_preview", pk=campaign.pk)
    status = 400 if row_errors or unknown_source else 200
    return render(
        request,
        "hr/campaign_audience.html",
        {"campaign": campaign, "forms": forms, "source": source, "row_errors": row_errors},
        status=status,
    )


@hr_only
@require_GET
def campaign_preview(request, pk):
    """Exactly what a person of the audience will read: the terms document rendered, in their
    language, from the same facts and by the same code as when the campaign is sent, and its
    sha256; and how many people each team contributes."""
    campaign = _campaign(pk)
    person = request.GET.get("person", "")
    member = hr_selectors.audience_member(campaign, as_id(person))
    document = terms_view = None
    if member is not None and campaign.start_date is not None:
        employee, to_team = member
        document = services.preview_document(
            campaign, employee=employee, to_team=to_team, proposer=request.user
        )
        terms_view = terms.display(document)
    deadline = response_deadline_for(campaign, timezone.now())
    return render(
        request,
        "hr/campaign_preview.html",
        {
            "campaign": campaign,
            "member": member,
            "document": document,
            "terms": terms_view,
            "deadline": deadline,
            "breakdown": hr_selectors.audience_breakdown(campaign),
            "problems": services.readiness_errors(campaign),
        },
    )


@hr_only
@require_POST
def campaign_send(request, pk):
    """Queue the send (idempotent); the task creates every proposal in one transaction.

    Pressing it again while the campaign is still queued queues the task again, which is
    harmless (the send claims the campaign once) and recovers a lost queue message.
    """
    campaign = _campaign(pk)
    try:
        with transaction.atomic():
            if campaign.state == Campaign.State.DRAFT:
                services.queue_campaign(campaign=campaign, actor=request.user)
            campaign.refresh_from_db(fields=["state"])
            if campaign.state == Campaign.State.QUEUED:
                enqueue_after_commit(tasks.send_campaign, campaign.pk)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("hr:campaign_preview", pk=campaign.pk)
    messages.success(
        request,
        _("Sending. This page shows the progress until every notification is out."),
    )
    return redirect("hr:campaign", pk=campaign.pk)


# --- Retroactive confirmations ------------------------------------------------------------


@hr_only
@require_http_methods(["GET", "POST"])
def retroactive_import(request):
    form = RetroactiveImportForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )
    row_errors = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.import_retroactive_confirmations(
                rows=data["file"],
                actor=request.user,
                role_description=data["role_description"],
                data_labelling_percent=data["data_labelling_percent"],
                response_deadline=data["response_deadline"],
                campaign=data["campaign"],
            )
        except services.RowsRejected as exc:
            row_errors = exc.errors
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                _(
                    "%(count)s people were asked to confirm or undraft. Until they answer, "
                    "they are listed as having no consent on record."
                )
                % {"count": len(created)},
            )
            return redirect("hr:workspace")
    return render(
        request,
        "hr/retroactive_import.html",
        {"form": form, "row_errors": row_errors},
        status=400 if row_errors else 200,
    )


# --- The placement queue ------------------------------------------------------------------


@hr_only
@require_GET
def placements(request):
    page = Paginator(hr_selectors.placement_queue(), PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = hr_selectors.with_seats(page.object_list)
    log_shown(request, page.object_list, purpose="placement queue")
    return render(request, "hr/placements.html", {"page": page, "now": timezone.now()})


@hr_only
@require_http_methods(["GET", "POST"])
def offer_placement(request, pk):
    found = hr_selectors.with_seats(hr_selectors.placement_request_for_hr(pk))
    if not found:
        raise Http404
    placement_request = found[0]
    if request.method == "GET":
        log_shown(request, found, purpose="placement offer")
    teams = hr_selectors.offer_teams(placement_request)
    seats = {p.team_id: p.seats for p in placement_request.ranked}
    form = OfferPlacementForm(
        request.POST if request.method == "POST" else None,
        teams=teams,
        seats=seats,
        contact=(display_name(request.user), request.user.email),
    )
    if request.method == "GET" and placement_request.matching:
        form.initial["to_team"] = placement_request.matching[0].team_id
    error = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            offer = services.offer_placement(
                placement_request=placement_request,
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
        except TransitionError as exc:
            error = exc.message
        else:
            messages.success(
                request,
                _(
                    "Placement offer sent to %(name)s: %(team)s. Nothing changes unless they "
                    "opt in; if they decline, their request stays open with its priority."
                )
                % {"name": offer.employee.name, "team": offer.to_team.name},
            )
            return redirect("hr:placements")
    return render(
        request,
        "hr/offer_placement.html",
        {"placement_request": placement_request, "form": form, "error": error},
        status=409 if error else 200,
    )


# --- Leave --------------------------------------------------------------------------------


@hr_only
@require_http_methods(["GET", "POST"])
def leave(request):
    action = request.POST.get("action") if request.method == "POST" else None
    # Anything but "Mark back" is the page's main form: even a post without its button's
    # value gets an answer about the person it names.
    starting = request.method == "POST" and action != "end"
    form = LeaveForm(request.POST if starting else None)
    if request.method == "POST":
        if starting and form.is_valid():
            person = hr_selectors.find_person(form.cleaned_data["person"])
            if person is None:
                form.add_error("person", _("Nobody has this email or employee id."))
            elif person.on_leave:
                form.add_error("person", _("%(name)s is already on leave.") % {"name": person.name})
            else:
                services.start_leave(employee=person, actor=request.user)
                messages.success(
                    request,
                    _("%(name)s is on leave: their response windows are paused.")
                    % {"name": person.name},
                )
                return redirect("hr:leave")
        elif action == "end":
            raw = request.POST.get("employee", "")
            if as_id(raw) is None:
                raise Http404
            person = get_object_or_404(hr_selectors.people_on_leave(), pk=as_id(raw))
            extended = services.end_leave(employee=person, actor=request.user)
            messages.success(
                request,
                _(
                    "%(name)s is back. %(count)s open deadline(s) moved by the working days "
                    "they were away; they have been told."
                )
                % {"name": person.name, "count": len(extended)},
            )
            return redirect("hr:leave")
    page = Paginator(hr_selectors.people_on_leave(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "hr/leave.html",
        {"form": form, "page": page},
        status=400 if form.errors else 200,
    )
