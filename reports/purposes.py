"""The data-use purpose dashboards: for each purpose's current version, how many people in
scope allowed it, said no, have not answered (never asked, or not since a new version), or let
it lapse, overall and by team. Counts only: nobody's choice is ever shown or linked.

One statement reads everything, whatever the number of people: each person's newest ledger
record about each current version (the ledger is the only place choices live), classified
once, grouped by purpose and team. Lapse is computed as the consent check computes it: an
opt-in counts until its recorded time plus the purpose's validity in calendar months.

Suppression is the campaign dashboards' (reports.dashboards, reports.suppression): a
purpose's four categories are one line adding up to the people in scope (`protect_line`); the
team table shows the published categories plus one "other" column for the hidden ones, groups
under 5 are combined first, and the table is protected with those column totals
(`protect_table`). A witness in the team table is two people in two teams each changing their
answer to this purpose: no other purpose's figures, and no team's size, change with it.
"""

from dataclasses import dataclass

from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consent.models import ConsentRecord
from datause.check import DATA_USE
from datause.selectors import current_purposes
from people.models import Employee, Team
from reports.dashboards import Breakdown, Column, _breakdown, _project
from reports.permissions import Scope
from reports.routers import replica_alias
from reports.suppression import SMALL, Figure, protect_line, threshold

CATEGORIES = ("allowed", "refused", "not_answered", "lapsed")
LABELS = {
    "allowed": gettext_lazy("Allowed"),
    "refused": gettext_lazy("Said no"),
    "not_answered": gettext_lazy("Not asked or no answer yet"),
    "lapsed": gettext_lazy("Lapsed"),
}
OTHER_LABEL = gettext_lazy("Other (hidden categories)")

R, E, T = ConsentRecord._meta.db_table, Employee._meta.db_table, Team._meta.db_table


def _valid_until_sql(vendor: str) -> str:
    """An opt-in's end, as datause.check.add_months has it: calendar months, the 31st
    becoming the month's last day (PostgreSQL's interval arithmetic does exactly that)."""
    if vendor == "postgresql":
        return "l.recorded_at + make_interval(months => p.months)"
    # SQLite runs over the end of a short month (Jan 31 + 1 month = Mar 3): cap at its last day.
    return (
        "MIN(datetime(l.recorded_at, '+' || p.months || ' months'), "
        "date(l.recorded_at, 'start of month', '+' || (p.months + 1) || ' months', '-1 day')"
        " || ' ' || time(l.recorded_at))"
    )


def purpose_counts_sql(scope: Scope, purposes, now) -> tuple[str, list]:
    vendor = connections[replica_alias()].vendor
    values = ", ".join(["(%s, %s)"] * len(purposes))
    where, scope_params = ("", []) if scope.manager_id is None else (
        " AND e.manager_id = %s", [scope.manager_id]
    )  # fmt: skip
    sql = f"""
        WITH purposes (about_id, months) AS (VALUES {values}),
        newest AS (
            SELECT r.subject_id, r.about_id, r.action, r.recorded_at FROM {R} r
            WHERE r.id IN (
                SELECT MAX(n.id) FROM {R} n
                WHERE n.about_kind = %s AND n.about_id IN (SELECT about_id FROM purposes)
                GROUP BY n.subject_id, n.about_id)
        ),
        scoped AS (
            SELECT p.about_id, e.team_id, COALESCE(t.name, '') AS team_name,
                   CASE WHEN l.action IS NULL THEN 2
                        WHEN l.action <> 'opt_in' THEN 1
                        WHEN {_valid_until_sql(vendor)} > %s THEN 0
                        ELSE 3 END AS category
            FROM {E} e CROSS JOIN purposes p
            LEFT JOIN newest l ON l.subject_id = e.user_id AND l.about_id = p.about_id
            LEFT JOIN {T} t ON t.id = e.team_id
            WHERE e.is_active{where}
        )
        SELECT about_id, CAST(team_id AS TEXT), MAX(team_name),
               {", ".join(f"COUNT(*) FILTER (WHERE category = {i})" for i in range(4))}
        FROM scoped GROUP BY about_id, team_id
    """
    params = [x for p in purposes for x in (p.about_id, p.validity_months)]
    return sql, [*params, DATA_USE, now, *scope_params]


def purpose_counts(scope: Scope, purposes, now) -> dict[str, dict[str | None, tuple]]:
    """about_id -> team id (text, None: no team) -> (team name, [counts per category])."""
    if not purposes:
        return {}
    sql, params = purpose_counts_sql(scope, purposes, now)
    counts: dict[str, dict] = {p.about_id: {} for p in purposes}
    with connections[replica_alias()].cursor() as cursor:
        cursor.execute(sql, params)
        for about_id, team, name, *values in cursor.fetchall():
            counts[about_id][team] = (name or "", list(values))
    return counts


@dataclass
class PurposeFigures:
    purpose: object
    people: Figure  # everyone in scope
    categories: list[tuple[Column, Figure]]
    too_few: bool = False
    teams: Breakdown | None = None

    @property
    def cells(self) -> list[tuple[str, Figure]]:
        return [(column.label, figure) for column, figure in self.categories]


def _figures(purpose, teams: dict, *, with_teams: bool, team_page: int | None) -> PurposeFigures:
    k = threshold()
    totals = [0] * len(CATEGORIES)
    for _name, values in teams.values():
        totals = [a + b for a, b in zip(totals, values, strict=True)]
    headline = [Column(c, str(LABELS[c])) for c in CATEGORIES]
    if sum(totals) < k:
        return PurposeFigures(purpose, Figure(None, SMALL, k), [], too_few=True)
    line = protect_line(totals)
    figures = PurposeFigures(purpose, line.total, list(zip(headline, line.parts, strict=True)))
    if not with_teams:
        return figures
    published = [i for i, f in enumerate(line.parts) if f.shown]
    hidden = [i for i, f in enumerate(line.parts) if not f.shown]
    hidden = hidden if sum(totals[i] for i in hidden) else []
    columns = [headline[i] for i in published]
    if hidden:
        columns.append(Column("other", str(OTHER_LABEL)))
    groups = [
        (team or "none", name or _("No team"), _project(values, published, hidden))
        for team, (name, values) in teams.items()
    ]
    figures.teams = _breakdown(
        "team", _("By team"), groups, columns, page=team_page, other_label=_("Smaller teams")
    )
    return figures


def purposes_overview(scope: Scope, *, now=None) -> list[PurposeFigures]:
    """Every current purpose's headline, suppressed as its own page shows it. Two queries."""
    purposes = list(current_purposes())
    counts = purpose_counts(scope, purposes, now or timezone.now())
    return [_figures(p, counts[p.about_id], with_teams=False, team_page=None) for p in purposes]


def purpose_dashboard(
    scope: Scope, purpose, *, team_page: int | None = 1, now=None
) -> PurposeFigures:
    """One purpose's headline and its team table (`team_page` None: every row, the CSV)."""
    counts = purpose_counts(scope, [purpose], now or timezone.now())
    return _figures(purpose, counts[purpose.about_id], with_teams=True, team_page=team_page)


def every_purpose_with_teams(scope: Scope, *, now=None) -> list[PurposeFigures]:
    """Every current purpose with its team table, all rows (the CSV). Two queries."""
    purposes = list(current_purposes())
    counts = purpose_counts(scope, purposes, now or timezone.now())
    return [_figures(p, counts[p.about_id], with_teams=True, team_page=None) for p in purposes]


def current_purpose(slug: str):
    """The current version of a published purpose (every scope sees every purpose)."""
    return current_purposes().filter(slug=slug).first()
