"""The dashboards' pages and exports, for HR (/hr/dashboards/) and managers (/team/dashboards/).

Views only translate: the scope comes from reports.permissions, the figures from
reports.dashboards (already suppressed), and every read runs on the replica when there is one
(`replica_reads`). The only write is the access log of the HR-only drill-down to named people.
"""

import csv

from django.contrib.auth.decorators import login_required
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from consent.access import record_reads
from consent.models import AccessLogEntry
from portal.numbers import as_id, as_page
from reports import dashboards, levels, selectors
from reports.permissions import require_hr_scope, scope_for
from reports.routers import replica_reads
from reports.selectors import CATEGORIES
from reports.suppression import threshold

PEOPLE_PAGE = 50


def _campaign_or_404(scope, pk):
    campaign = selectors.campaign_for(scope, pk)
    if campaign is None:
        raise Http404
    return campaign


def _page_number(request) -> int:
    return as_page(request.GET.get("page", "1"))


@require_GET
@login_required
@replica_reads
def overview(request):
    scope = scope_for(request)
    return render(
        request,
        "reports/overview.html",
        {"scope": scope, "rows": dashboards.overview(scope), "below": threshold()},
    )


@require_GET
@login_required
@replica_reads
def campaign(request, pk):
    scope = scope_for(request)
    drive = _campaign_or_404(scope, pk)
    team = request.GET.get("team") or None
    level = request.GET.get("level") or None
    dashboard = dashboards.campaign_dashboard(
        scope, drive, team_page=_page_number(request), team=team, level=level
    )
    return render(
        request,
        "reports/campaign.html",
        {
            "scope": scope,
            "dashboard": dashboard,
            "campaign": drive,
            "charts": _chart_data(dashboard),
            "below": threshold(),
            "categories": dashboards.CATEGORY_LABELS,
        },
    )


def _chart_data(dashboard) -> dict | None:
    """What static/js/reports.js draws; hidden figures are null (a gap, never a guess)."""
    if dashboard.summary is None or dashboard.group is not None:
        return None
    data = {
        "note": _("The same numbers are in the table below."),
        "funnel": {
            "labels": [label for label, _f in dashboard.summary.funnel],
            "values": [f.value for _label, f in dashboard.summary.funnel],
            "title": _("Funnel: from invited to moved"),
        },
    }
    if dashboard.timeline is not None:
        data["timeline"] = {
            "labels": dashboard.timeline.buckets,
            "series": [
                {"key": column.key, "label": column.label, "values": [f.value for f in figures]}
                for column, figures in dashboard.timeline.series
            ],
            "title": _("Decisions over time"),
        }
    return data


# --- exports ---------------------------------------------------------------------------------


class _Echo:
    def write(self, value):
        return value


def _cell(value) -> str:
    # A spreadsheet runs a cell that starts with = + - @ as a formula: never from a team name.
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _stream_csv(rows, filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow([_cell(v) for v in row]) for row in rows),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _campaign_rows(dashboard):
    """The same figures as the page, every row of every breakdown, as the page labels them."""
    yield [_("section"), _("group"), _("measure"), _("value")]
    summary = dashboard.summary
    if dashboard.too_few:
        yield ["summary", _("Everyone"), _("Invited"), f"<{threshold()}"]
        return
    yield ["summary", _("Everyone"), _("Invited"), summary.invited.label]
    for column, figure in summary.categories:
        yield ["summary", _("Everyone"), column.label, figure.label]
    for label, figure in summary.funnel:
        yield ["funnel", _("Everyone"), label, figure.label]
    yield ["summary", _("Everyone"), _("Response rate"), summary.response_rate or _("withheld")]
    yield [
        "summary",
        _("Everyone"),
        _("Median days to decide"),
        summary.median_days or _("withheld"),
    ]
    for breakdown in (dashboard.teams, dashboard.levels):
        for row in breakdown.rows:
            yield [breakdown.key, row.label, _("Invited"), row.total.label]
            for column, figure in zip(breakdown.columns, row.figures, strict=True):
                yield [breakdown.key, row.label, column.label, figure.label]
    if dashboard.timeline is not None:
        for column, figures in dashboard.timeline.series:
            for bucket, figure in zip(dashboard.timeline.buckets, figures, strict=True):
                yield ["decisions over time", bucket, column.label, figure.label]
    if dashboard.deadlines is not None:
        for label, figure in dashboard.deadlines.rows:
            yield ["deadlines", label, dashboards.CATEGORY_LABELS["pending"], figure.label]


@require_GET
@login_required
@replica_reads
def campaign_export(request, pk):
    scope = scope_for(request)
    drive = _campaign_or_404(scope, pk)
    # Every row of every breakdown (no pages); suppressed exactly as the pages are.
    dashboard = dashboards.campaign_dashboard(scope, drive, team_page=None)
    stamp = timezone.now().strftime("%Y%m%d")
    return _stream_csv(
        _campaign_rows(dashboard), f"campaign-{drive.pk}-{slugify(drive.name)}-{stamp}.csv"
    )


def _overview_rows(rows):
    keys = list(dashboards.CATEGORY_LABELS)
    yield [_("campaign"), _("invited"), *[str(dashboards.CATEGORY_LABELS[k]) for k in keys],
           _("response rate")]  # fmt: skip
    for row in rows:
        if row.summary is None:
            yield [row.name, f"<{threshold()}", *[""] * len(keys), ""]
            continue
        figures = [f.label for _c, f in row.summary.categories]
        yield [row.name, row.summary.invited.label, *figures, row.summary.response_rate or ""]


@require_GET
@login_required
@replica_reads
def overview_export(request):
    scope = scope_for(request)
    rows = dashboards.overview(scope)
    stamp = timezone.now().strftime("%Y%m%d")
    return _stream_csv(_overview_rows(rows), f"campaigns-{stamp}.csv")


# --- named people: HR only, every look logged ------------------------------------------------


@require_GET
@login_required
@replica_reads
def people(request, pk):
    """Who a campaign went to and what each decided, by name. Asks why first; then logs one
    access-log entry per person shown, with the reason given."""
    scope = scope_for(request)
    require_hr_scope(scope)
    drive = _campaign_or_404(scope, pk)
    category = request.GET.get("category", "")
    team = request.GET.get("team", "")
    level = request.GET.get("level", "")
    purpose = request.GET.get("purpose", "").strip()[:300]
    context = {
        "scope": scope,
        "campaign": drive,
        "category": category,
        "team": team,
        "level": level,
        "purpose": purpose,
        "categories": dashboards.CATEGORY_LABELS,
        "levels": [(key, label) for key, label, _w in levels.LEVELS],
    }
    if not purpose:
        return render(request, "reports/people.html", context)
    titles = None
    if level:
        titles = [
            t for t in selectors.titles_in_campaign(scope, drive.pk) if levels.level_of(t) == level
        ]
    page = _page_number(request)
    rows, total = selectors.people_in_campaign(
        scope,
        drive.pk,
        category=CATEGORIES.index(category) if category in CATEGORIES else None,
        team_id=as_id(team),
        titles=titles,
        limit=PEOPLE_PAGE,
        offset=(page - 1) * PEOPLE_PAGE,
    )
    record_reads(
        viewer=request.user,
        subjects=[row.user_id for row in rows],
        page=request.get_full_path(),
        purpose=purpose,
        channel=AccessLogEntry.Channel.WEB,
    )
    for row in rows:
        row.category_label = dashboards.CATEGORY_LABELS[row.category]
        row.level_label = levels.LABELS[levels.level_of(row.title)]
    pages = max(1, -(-total // PEOPLE_PAGE))
    context.update(
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        previous_page=page - 1 if page > 1 else None,
        next_page=page + 1 if page < pages else None,
    )
    return render(request, "reports/people.html", context)


# --- no adverse consequence ------------------------------------------------------------------


@require_GET
@login_required
@replica_reads
def no_adverse_consequence(request):
    scope = scope_for(request)
    return render(
        request,
        "reports/no_adverse.html",
        {
            "scope": scope,
            "rows": dashboards.no_adverse_consequence(scope),
            "columns": dashboards.OUTCOME_COLUMNS,
            "below": threshold(),
        },
    )
