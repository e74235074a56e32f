"""The employee's privacy centre: everything the portal holds about the signed-in person, who
else read it, and all of it as one file. Only ever the signed-in person's own data: no URL
names anyone, so there is nobody else's page to reach. Pages only read (GET; anything else is a
405); the one write is the log of an export, made by the service the export view calls."""

import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from datause.views import choices_for
from notifications.rendering import subject_for
from people.selectors import employee_for
from privacy import selectors, services
from privacy.export import build_export

PER_PAGE = 50
RECENT_READS = 5  # shown on the centre itself; the rest on /privacy/access-log/


def _page(request, queryset):
    return Paginator(queryset, PER_PAGE).get_page(request.GET.get("page"))


@login_required
@require_GET
def centre(request):
    """The data-use choices in full (the decisions people come here to make), then one
    summary per section with its own page."""
    user = request.user
    choices = choices_for(request)
    employee = choices["employee"]
    reads = selectors.reads_in_words(selectors.own_access_log(user)[:RECENT_READS], employee)
    return render(
        request,
        "privacy/centre.html",
        {
            **choices,
            "level": 3,  # the purposes sit under the section's heading
            "proposal_count": selectors.own_proposals(employee).count(),
            "record_count": selectors.own_records(user).count(),
            "notification_count": selectors.own_notifications(user).count(),
            "read_count": selectors.own_access_log(user).count(),
            "export_count": selectors.own_exports(user).count(),
            "recent_reads": reads,
        },
    )


@login_required
@require_GET
def proposals(request):
    employee = employee_for(request.user)
    return render(
        request,
        "privacy/proposals.html",
        {"employee": employee, "proposals": selectors.own_proposals(employee)},
    )


def _decisions_page(request, template):
    page = _page(request, selectors.own_records(request.user))
    page.object_list = selectors.describe(list(page.object_list), request.user)
    return render(request, template, {"page": page})


@login_required
@require_GET
def decisions(request):
    return _decisions_page(request, "privacy/decisions.html")


@login_required
@require_GET
def receipts(request):
    return _decisions_page(request, "privacy/receipts.html")


@login_required
@require_GET
def notifications(request):
    page = _page(request, selectors.own_notifications(request.user))
    for notification in page.object_list:  # in the reader's own zone and language
        notification.title = subject_for(notification)
    return render(request, "privacy/notifications.html", {"page": page})


@login_required
@require_GET
def access_log(request):
    user = request.user
    employee = employee_for(user)
    page = _page(request, selectors.own_access_log(user))
    page.object_list = selectors.reads_in_words(page.object_list, employee)
    return render(
        request,
        "privacy/access_log.html",
        {
            "page": page,
            "checks": selectors.own_consent_checks(user)[:PER_PAGE],
            "exports": selectors.own_exports(user)[:PER_PAGE],
        },
    )


@login_required
@require_GET
@never_cache  # the person's whole file: no shared or browser cache keeps a copy
def export(request):
    """All of the person's data as one JSON download. The download is logged first, in the
    same transaction as the file is read, so the file lists itself among the exports."""
    user = request.user
    with transaction.atomic():
        logged = services.log_export(
            person=user,
            ip_address=request.META.get("REMOTE_ADDR"),  # REMOTE_ADDR only: headers can lie
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        data = build_export(request, employee=employee_for(user))
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    day = timezone.localdate(logged.at).isoformat()
    response["Content-Disposition"] = f'attachment; filename="my-data-{day}.json"'
    return response
