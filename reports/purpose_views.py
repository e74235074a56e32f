"""The data-use purpose dashboards (/hr/dashboards/purposes/, and /team/dashboards/purposes/
for a manager's own reports) and their CSV. Counts only, suppressed like every dashboard:
there is no page, for anyone, that names a person next to a data-use choice."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from reports import purposes
from reports.permissions import scope_for
from reports.routers import replica_reads
from reports.suppression import threshold
from reports.views import _page_number, _stream_csv


@require_GET
@login_required
@replica_reads
def overview(request):
    scope = scope_for(request)
    return render(
        request,
        "reports/purposes.html",
        {
            "scope": scope,
            "rows": purposes.purposes_overview(scope),
            "columns": [str(purposes.LABELS[c]) for c in purposes.CATEGORIES],
            "below": threshold(),
        },
    )


@require_GET
@login_required
@replica_reads
def purpose(request, slug):
    scope = scope_for(request)
    current = purposes.current_purpose(slug)
    if current is None:
        raise Http404
    figures = purposes.purpose_dashboard(scope, current, team_page=_page_number(request))
    return render(
        request,
        "reports/purpose.html",
        {"scope": scope, "figures": figures, "purpose": current, "below": threshold()},
    )


def _rows(every):
    """The pages' figures, as the pages label them: headline, then every team row."""
    yield [_("purpose"), _("version"), _("group"), _("measure"), _("value")]
    for f in every:
        p = f.purpose
        if f.too_few:
            yield [p.slug, p.version, _("Everyone"), _("People"), f"<{threshold()}"]
            continue
        yield [p.slug, p.version, _("Everyone"), _("People"), f.people.label]
        for column, figure in f.categories:
            yield [p.slug, p.version, _("Everyone"), column.label, figure.label]
        if f.teams is None or f.teams.note:
            continue
        if f.teams.withheld:
            yield [p.slug, p.version, _("By team"), _("People"), _("withheld")]
            continue
        for row in f.teams.rows:
            yield [p.slug, p.version, row.label, _("People"), row.total.label]
            for column, figure in zip(f.teams.columns, row.figures, strict=True):
                yield [p.slug, p.version, row.label, column.label, figure.label]


@require_GET
@login_required
@replica_reads
def export(request):
    scope = scope_for(request)
    every = purposes.every_purpose_with_teams(scope)
    stamp = timezone.now().strftime("%Y%m%d")
    return _stream_csv(_rows(every), f"data-use-purposes-{stamp}.csv")
