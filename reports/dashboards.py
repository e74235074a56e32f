"""The dashboards' figures: counts from reports.selectors, each one passed through
reports.suppression, arranged so that the tables on one page stay safe together.

One campaign, one scope:

1. The campaign's categories add up to the people invited: that line is suppressed first
   (`protect_line`). Its published categories are the column totals of every breakdown.
2. The breakdowns (by team, by job level) show the published categories plus one "other"
   column for the hidden ones together; its total is what the line already gives away (the
   invited minus the published categories), so no breakdown says anything new about a hidden
   category. Groups under 5 are combined into one "other" row first, so every row's size is
   5 or more and is shown. Each breakdown is then suppressed as a table (`protect_table`)
   whose column totals are the line's published figures.
3. Decisions over time: each published category, split over time, is its own line whose
   total is that published figure. Upcoming deadlines split the published "waiting" figure.
4. A filter to one team or level shows that row of its breakdown, exactly as the table shows
   it (a group under 5 is refused), so comparing a filter with the whole gives nothing the
   table does not. Derived figures (the funnel, the response rate) are sums of shown figures,
   or of shown figures and all the hidden ones together (whose sum is no secret).

Why the tables stay safe together: each hidden small figure has a witness in its own table,
and every witness is a change of people that no other table sees. A rectangle in the team
table is two people swapping teams (their levels, decisions and dates stay); in the level
table, two people swapping titles; in a timeline line, one decision on another day; in the
deadlines, one deadline on another day; in the headline, one person moving between two
hidden categories (the breakdowns only show those categories' sum). Every other published
figure stays as it is, so no comparison of tables, pages or filters can pin the hidden one
down. tests/reports/test_no_leak_across_views.py checks this against real populations.
"""

import functools
import heapq
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import median

from django.core.paginator import Paginator
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import formats, timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from reports import levels, selectors
from reports.permissions import Scope
from reports.selectors import CATEGORIES
from reports.suppression import (
    NOT_APPLICABLE,
    SMALL,
    WITHHELD,
    Figure,
    protect_line,
    protect_table,
    threshold,
)

CATEGORY_LABELS = {
    "pending": gettext_lazy("Waiting for an answer"),
    "opted_in": gettext_lazy("Opted in, not moved yet"),
    "effective": gettext_lazy("Moved (in effect)"),
    "undrafted": gettext_lazy("Undrafted"),
    "opted_out": gettext_lazy("Opted out"),
    "expired": gettext_lazy("Expired with no answer"),
    "no_consent": gettext_lazy("No consent on record"),
    "withdrawn": gettext_lazy("Withdrawn by the proposer"),
}
OTHER = "other"
OTHER_LABEL = gettext_lazy("Other (hidden categories)")
PAGE_SIZE = 25
AT = {name: n for n, name in enumerate(CATEGORIES)}  # category index by name


@dataclass
class Column:
    key: str
    label: str


@dataclass
class Summary:
    """The headline of a campaign (or of one group): invited, and each category."""

    invited: Figure
    categories: list[tuple[Column, Figure]]
    funnel: list[tuple[str, Figure]]
    response_rate: str | None = None
    median_days: str | None = None

    @property
    def cells(self) -> list[tuple[str, Figure]]:
        return [(column.label, figure) for column, figure in self.categories]


@dataclass
class Row:
    key: str
    label: str
    figures: list[Figure]  # one per column
    total: Figure
    combined: int = 0  # for the "other" row: how many groups it combines
    cells: list[tuple[str, Figure]] = field(default_factory=list)  # (column label, figure)


@dataclass
class Breakdown:
    key: str
    title: str
    columns: list[Column]
    rows: list[Row]
    page: object = None  # a Paginator page when the table is long
    withheld: bool = False
    note: str = ""


@dataclass
class Timeline:
    granularity: str  # "day", "week", "month" or "quarter"
    buckets: list[str]
    series: list[tuple[Column, list[Figure]]]

    @property
    def rows(self) -> list[tuple[str, list[tuple[str, Figure]]]]:
        """Bucket by bucket, for the table: (bucket, [(series label, figure)])."""
        return [
            (bucket, [(column.label, figures[n]) for column, figures in self.series])
            for n, bucket in enumerate(self.buckets)
        ]


@dataclass
class Deadlines:
    rows: list[tuple[str, Figure]]


@dataclass
class CampaignDashboard:
    campaign: object
    scope: Scope
    too_few: bool = False
    summary: Summary | None = None
    teams: Breakdown | None = None
    levels: Breakdown | None = None
    timeline: Timeline | None = None
    deadlines: Deadlines | None = None
    group: Row | None = None  # the filtered row, when a filter is on
    group_of: str = ""  # "team" or "level"
    refused: str = ""  # why a filter was refused


# --- building blocks -------------------------------------------------------------------------


def _summary(
    invited: Figure,
    columns: list[Column],
    figures: list[Figure],
    decided: int,
    seconds: float | None,
    *,
    hidden: tuple[str, ...] = (),
    other: Figure | None = None,
) -> Summary:
    """A headline, with the funnel and the response rate worked out from shown figures only:
    a step holding every hidden category uses their sum (`other`), one holding some of them
    but not all is withheld."""
    by_key = {c.key: f for c, f in zip(columns, figures, strict=True)}
    k = threshold()

    def add(*keys):
        inside = set(keys) & set(hidden)
        if inside and inside != set(hidden):
            return Figure(None, WITHHELD, k)
        parts = [by_key.get(key) for key in keys if key not in inside]
        if inside:
            parts.append(other)
        if all(p is not None and (p.shown or p.hidden == NOT_APPLICABLE) for p in parts):
            return Figure(sum(p.value or 0 for p in parts), "", k)
        return Figure(None, WITHHELD, k)

    answered = add(*FUNNEL["answered"])
    funnel = [
        (_("Invited"), invited),
        (_("Answered"), answered),
        (_("Opted in"), add(*FUNNEL["opted_in"])),
        (_("Moved"), add(*FUNNEL["moved"])),
    ]
    rate = None
    withdrawn = add("withdrawn")
    if answered.shown and invited.shown and withdrawn.shown:
        asked = invited.value - withdrawn.value
        if asked > 0:
            rate = formats.number_format(round(100 * answered.value / asked)) + "%"
    days = None
    if seconds is not None and decided >= k:
        days = formats.number_format(round(seconds / 86400, 1), decimal_pos=1)
    return Summary(invited, list(zip(columns, figures, strict=True)), funnel, rate, days)


def _columns(published: list[int], hidden_total: int) -> list[Column]:
    columns = [Column(CATEGORIES[i], str(CATEGORY_LABELS[CATEGORIES[i]])) for i in published]
    if hidden_total:
        columns.append(Column(OTHER, str(OTHER_LABEL)))
    return columns


def _project(counts: list[int], published: list[int], hidden: list[int]) -> list[int]:
    """A group's counts in the breakdown's columns: published categories, then the rest."""
    values = [counts[i] for i in published]
    if hidden:
        values.append(sum([counts[i] for i in hidden]))
    return values


def _combine_small(groups: list[tuple[str, str, list[int]]], k: int, other_label: str):
    """Groups under k people go into one "other" row, with the smallest others until that row
    reaches k too, so every row's size is 5 or more and can be shown."""
    sizes = [sum(g[2]) for g in groups]
    small = [g for g, size in zip(groups, sizes, strict=True) if size < k]
    if not small:
        return groups, None
    combined_size = sum(size for size in sizes if size < k)
    # The smallest of the rest, one at a time (a heap: only a few are ever taken).
    rest = [(size, g[1], n) for n, (g, size) in enumerate(zip(groups, sizes, strict=True))
            if size >= k]  # fmt: skip
    heapq.heapify(rest)
    while combined_size < k and rest:
        size, _label, n = heapq.heappop(rest)
        small.append(groups[n])
        combined_size += size
    width = len(groups[0][2])
    combined = [sum([g[2][c] for g in small]) for c in range(width)]
    keep = sorted((groups[n] for _size, _label, n in rest), key=lambda g: g[1].lower())
    other = (OTHER, f"{other_label} ({len(small)})", combined)
    return [*keep, other], len(small)


def _breakdown(
    key: str,
    title: str,
    groups: list[tuple[str, str, list[int]]],
    columns: list[Column],
    *,
    page: int | None = None,
    only: str | None = None,
    other_label: str,
) -> Breakdown:
    """One breakdown, suppressed as a table. `page` (1-based) pages a long one; `only` asks
    for one row's figures (a filter)."""
    k = threshold()
    rows, combined = _combine_small(groups, k, other_label)
    breakdown = Breakdown(key, title, columns, [])
    if len(rows) < 2:
        breakdown.note = _("Everyone here is in one group, so there is nothing to break down.")
        return breakdown
    values = [g[2] for g in rows]
    wanted = range(len(rows))
    if only is not None:
        wanted = [n for n, g in enumerate(rows) if g[0] == only]
    elif page is not None and len(rows) > PAGE_SIZE:
        breakdown.page = Paginator(range(len(rows)), PAGE_SIZE).get_page(page)
        wanted = list(breakdown.page.object_list)
    other_index = len(rows) - 1 if combined else None
    table = protect_table(
        values, rows=wanted, prefer_hubs=[] if other_index is None else [other_index]
    )
    breakdown.withheld = table.withheld
    for n in wanted:
        figures = table.rows[n]
        group_key, label, _counts = rows[n]
        breakdown.rows.append(
            Row(
                group_key,
                label,
                figures[:-1],
                figures[-1],
                combined if n == other_index else 0,
                [(c.label, f) for c, f in zip(columns, figures, strict=False)],
            )
        )
    return breakdown


_STARTS = {
    "day": lambda d: d,
    "week": lambda d: d - timedelta(days=d.weekday()),
    "month": lambda d: d.replace(day=1),
    "quarter": lambda d: d.replace(month=(d.month - 1) // 3 * 3 + 1, day=1),
}
_NEXT = {
    "day": lambda b: b + timedelta(days=1),
    "week": lambda b: b + timedelta(days=7),
    "month": lambda b: (b.replace(day=28) + timedelta(days=4)).replace(day=1),
    "quarter": lambda b: _NEXT["month"](_NEXT["month"](_NEXT["month"](b))),
}
MAX_BUCKETS = 31


def _buckets(first: date, last: date, people: int) -> tuple[str, list[date]]:
    """The finest of days, weeks, months or quarters that gives a readable number of rows
    for this many people (about ten people a row, at most MAX_BUCKETS rows): more rows would
    only be more "<5". Chosen from the dates and the number invited, which are shown anyway."""
    limit = min(MAX_BUCKETS, max(2, people // 10))
    for granularity in ("day", "week", "month", "quarter"):
        starts, bucket = [], _STARTS[granularity](first)
        while bucket <= last and len(starts) <= limit:
            starts.append(bucket)
            bucket = _NEXT[granularity](bucket)
        if len(starts) <= limit or granularity == "quarter":
            while bucket <= last:  # (quarters: every one, however many)
                starts.append(bucket)
                bucket = _NEXT[granularity](bucket)
            return granularity, starts
    raise AssertionError("unreachable")


def _bucket_label(granularity: str, start: date) -> str:
    return _bucket_label_in(granularity, start, get_language())


@functools.lru_cache(maxsize=4096)
def _bucket_label_in(granularity: str, start: date, language: str | None) -> str:
    # Remembered: every page draws up to 31 of them, and formatting a date is slow.
    if granularity == "quarter":
        return _("%(year)s, quarter %(n)s") % {"year": start.year, "n": (start.month + 2) // 3}
    if granularity == "month":
        return formats.date_format(start, "YEAR_MONTH_FORMAT")
    if granularity == "week":
        return _("Week of %(day)s") % {"day": formats.date_format(start, "SHORT_DATE_FORMAT")}
    return formats.date_format(start, "SHORT_DATE_FORMAT")


@receiver(setting_changed)
def _forget_bucket_labels(**kwargs):
    _bucket_label_in.cache_clear()  # date formats are settings (and tests override them)


def _timeline(days: dict, published: list[int], first: date | None, today: date, people: int):
    """Every day (week, month) from the first proposal to today, empty ones too: which rows
    there are must not say on which days somebody decided."""
    dated = [d for d in days if d is not None]
    if first is None or not dated:
        return None
    first, last = min(first, *dated), max(today, *dated)
    granularity, order = _buckets(first, last, people)
    position = {b: n for n, b in enumerate(order)}
    bucket_of = _STARTS[granularity]
    cells = [[0] * len(CATEGORIES) for _ in order]
    for day in dated:
        row = cells[position[bucket_of(day)]]
        for c, n in enumerate(days[day]):
            row[c] += n
    series = []
    for i in published:
        if CATEGORIES[i] == "pending":
            continue  # waiting people have not decided anything yet
        line = protect_line([row[i] for row in cells])
        series.append((Column(CATEGORIES[i], str(CATEGORY_LABELS[CATEGORIES[i]])), line.parts))
    if not series:
        return None
    return Timeline(granularity, [_bucket_label(granularity, b) for b in order], series)


# Upcoming deadlines, by how far off they are (fixed rows, whatever the data).
DEADLINE_ROWS = (
    (None, 0, gettext_lazy("Past the deadline, expiring now")),
    (0, 1, gettext_lazy("Today")),
    (1, 2, gettext_lazy("Tomorrow")),
    (2, 7, gettext_lazy("In 2 to 6 days")),
    (7, 14, gettext_lazy("In 7 to 13 days")),
    (14, None, gettext_lazy("Later")),
)


def deadline_row(days_ahead: int) -> int:
    """Which row of DEADLINE_ROWS a deadline this many days from today falls in."""
    return next(
        n
        for n, (start, end, _label) in enumerate(DEADLINE_ROWS)
        if (start is None or days_ahead >= start) and (end is None or days_ahead < end)
    )


def _deadlines(deadlines: dict[date, int], now: datetime) -> Deadlines:
    today = timezone.localdate(now, timezone.get_fixed_timezone(0))
    values = [0] * len(DEADLINE_ROWS)
    for day, n in deadlines.items():
        values[deadline_row((day - today).days)] += n
    line = protect_line(values)
    return Deadlines(
        [(str(label), f) for (_s, _e, label), f in zip(DEADLINE_ROWS, line.parts, strict=True)]
    )


# The funnel's steps, nested: who answered, who opted in, who moved. A step can be shown when
# the hidden categories are all inside it or all outside it (their sum is the invited minus
# the shown ones), so the headline hides categories of the same layer together when it can.
FUNNEL = {
    "answered": ("opted_in", "effective", "undrafted", "opted_out"),
    "opted_in": ("opted_in", "effective", "undrafted"),
    "moved": ("effective", "undrafted"),
}
LAYER = {"effective": 0, "undrafted": 0, "opted_in": 1, "opted_out": 2}  # the rest: 3


def _affinity(a: str, b: str) -> int:
    return abs(LAYER.get(a, 3) - LAYER.get(b, 3))


def headline(totals: list[int], *, retroactive: int):
    """A campaign's categories, suppressed as one line adding up to the people invited.

    "No consent on record" can only happen to a retroactive confirmation: in a campaign
    without any it is no count at all (it reads "does not apply", and is left out of the line,
    so that a certain zero does not force a real category to be hidden).
    """
    k = threshold()
    applicable = [n for n, c in enumerate(CATEGORIES) if c != "no_consent" or retroactive]
    names = [CATEGORIES[n] for n in applicable]
    line = protect_line(
        [totals[n] for n in applicable], affinity=lambda i, j: _affinity(names[i], names[j])
    )
    parts = [Figure(None, NOT_APPLICABLE, k)] * len(CATEGORIES)
    for n, part in zip(applicable, line.parts, strict=True):
        parts[n] = part
    line.parts = parts
    at = [*applicable, len(CATEGORIES)]  # position in the line -> category (last: the total)
    line.witnesses = {
        at[i]: {at[j]: d for j, d in move.items()} for i, move in line.witnesses.items()
    }
    return line


# --- pages -----------------------------------------------------------------------------------


def campaign_dashboard(
    scope: Scope,
    campaign,
    *,
    team_page: int | None = 1,
    team: str | None = None,
    level: str | None = None,
    now: datetime | None = None,
) -> CampaignDashboard:
    """Everything a campaign's page (and its CSV) shows. Two queries."""
    data = selectors.campaign_breakdowns(scope, campaign.pk)
    return build_campaign_dashboard(
        data, campaign=campaign, scope=scope, team_page=team_page, team=team, level=level, now=now
    )


def build_campaign_dashboard(
    data: selectors.CampaignBreakdowns,
    *,
    campaign=None,
    scope: Scope | None = None,
    team_page: int | None = 1,
    team: str | None = None,
    level: str | None = None,
    now: datetime | None = None,
) -> CampaignDashboard:
    """The figures from the counts: no database (the property tests call it directly)."""
    now = now or timezone.now()
    k = threshold()
    dashboard = CampaignDashboard(campaign=campaign, scope=scope)
    totals = data.totals
    if sum(totals) < k:
        dashboard.too_few = True
        return dashboard
    line = headline(totals, retroactive=data.retroactive)
    published = [i for i, f in enumerate(line.parts) if f.shown]
    hidden = [i for i, f in enumerate(line.parts) if f.hidden and f.hidden != NOT_APPLICABLE]
    hidden_total = sum(totals[i] for i in hidden)
    columns = _columns(published, hidden_total)
    headline_columns = [Column(c, str(CATEGORY_LABELS[c])) for c in CATEGORIES]
    hidden_keys = tuple(CATEGORIES[i] for i in hidden)
    dashboard.summary = _summary(
        line.total,
        headline_columns,
        line.parts,
        data.decided,
        data.median_seconds,
        hidden=hidden_keys,
        other=Figure(hidden_total, "", k),  # the invited less the shown: no secret
    )
    hidden = hidden if hidden_total else []

    teams = [
        (
            str(pk) if pk is not None else "none",
            name or _("No team"),
            _project(c, published, hidden),
        )
        for pk, (name, c) in data.teams.items()
    ]
    by_level: dict[str, list[int]] = defaultdict(lambda: [0] * len(CATEGORIES))
    for title, counts in data.titles.items():
        lvl = levels.level_of(title)
        by_level[lvl] = [a + b for a, b in zip(by_level[lvl], counts, strict=True)]
    level_groups = [
        (lvl, str(levels.LABELS[lvl]), _project(c, published, hidden))
        for lvl, c in sorted(by_level.items(), key=lambda item: levels.ORDER[item[0]])
    ]
    if team is not None or level is not None:
        return _filtered(dashboard, team, level, teams, level_groups, columns, hidden_keys)

    dashboard.teams = _breakdown(
        "team", _("By team"), teams, columns, page=team_page, other_label=_("Smaller teams")
    )
    dashboard.levels = _breakdown(
        "level", _("By job level"), level_groups, columns, other_label=_("Other levels")
    )
    if dashboard.levels.rows:  # levels keep their own order, the combined row last
        order = {lvl: levels.ORDER.get(lvl, 99) for lvl, _label, _c in level_groups}
        dashboard.levels.rows.sort(key=lambda r: order.get(r.key, 100))
    today = timezone.localdate(now, timezone.get_fixed_timezone(0))
    dashboard.timeline = _timeline(data.days, published, data.first_day, today, sum(totals))
    if line.parts[AT["pending"]].shown:
        dashboard.deadlines = _deadlines(data.deadlines, now)
    return dashboard


def _filtered(dashboard, team, level, teams, level_groups, columns, hidden_keys):
    if team is not None and level is not None:
        dashboard.refused = _("Choose one filter at a time: a team and a level together would "
                              "single out groups too small to show.")  # fmt: skip
        return dashboard
    groups, key = (teams, team) if team is not None else (level_groups, level)
    dashboard.group_of = "team" if team is not None else "level"
    other_label = _("Smaller teams") if team is not None else _("Other levels")
    found = next((g for g in groups if g[0] == key), None)
    if found is None:
        dashboard.refused = _("Nobody in this group was part of the campaign.")
        return dashboard
    if sum(found[2]) < threshold():
        dashboard.refused = _(
            "Fewer than %(n)s people in this group were part of the campaign, so its figures "
            "are not shown on their own."
        ) % {"n": threshold()}
        return dashboard
    breakdown = _breakdown("group", "", groups, columns, only=key, other_label=other_label)
    if not breakdown.rows:
        dashboard.refused = _("Everyone is in this one group: its figures are the campaign's.")
        return dashboard
    row = breakdown.rows[0]
    dashboard.group = row
    other = row.figures[-1] if columns and columns[-1].key == OTHER else None
    dashboard.summary = _summary(
        row.total, columns, row.figures, 0, None, hidden=hidden_keys, other=other
    )
    return dashboard


@dataclass
class OverviewRow:
    id: int
    name: str
    state: str
    sent_at: datetime | None
    summary: Summary | None  # None: fewer than 5 people


def overview(scope: Scope) -> list[OverviewRow]:
    """Every campaign in scope, each row suppressed exactly as that campaign's own page."""
    k = threshold()
    headline_columns = [Column(c, str(CATEGORY_LABELS[c])) for c in CATEGORIES]
    rows = []
    for c in selectors.campaigns_with_counts(scope):
        summary = None
        if sum(c.counts) >= k:
            line = headline(c.counts, retroactive=c.retroactive)
            hidden = [
                n for n, f in enumerate(line.parts) if f.hidden and f.hidden != NOT_APPLICABLE
            ]
            summary = _summary(
                line.total,
                headline_columns,
                line.parts,
                0,
                None,
                hidden=tuple(CATEGORIES[n] for n in hidden),
                other=Figure(sum(c.counts[n] for n in hidden), "", k),
            )
        rows.append(OverviewRow(c.id, c.name, c.state, c.sent_at, summary))
    return rows


# --- no adverse consequence ------------------------------------------------------------------


@dataclass
class OutcomeRow:
    answer: str
    label: str
    people: Figure
    figures: dict[str, Figure | None] = field(default_factory=dict)
    median_days: str | None = None

    @property
    def cells(self) -> list[tuple[str, Figure | None]]:
        """(column label, figure) in OUTCOME_COLUMNS order; None: does not apply."""
        return [(str(label), self.figures.get(key)) for key, label in OUTCOME_COLUMNS]


OUTCOME_COLUMNS = [
    ("left", gettext_lazy("Left the company since")),
    ("moved_later", gettext_lazy("Moved again later (with their own opt-in)")),
    ("requests", gettext_lazy("Asked for a placement (undraft)")),
    ("waiting", gettext_lazy("Still waiting for a placement")),
    ("placed", gettext_lazy("Placed")),
    ("offers", gettext_lazy("Placement offers made")),
    ("accepted", gettext_lazy("Offers accepted")),
]


def no_adverse_consequence(scope: Scope) -> list[OutcomeRow]:
    """People whose latest answer was no (opted out or undrafted) beside those whose was yes.

    Each measure is shown with its complement inside the group (left / stayed, placed /
    waiting / cancelled / never asked, ...), suppressed as one line, so a count is shown only
    when the people it leaves out are 5 or more too. The two groups share no total.
    """
    k = threshold()
    labels = {"no": _("Said no (opted out or undrafted)"), "yes": _("Said yes (opted in)")}
    # Only an undraft opens a placement request, so people who said yes have none: those
    # columns do not apply to them (None), rather than reading "<5".
    placement = ("requests", "waiting", "placed", "offers", "accepted")
    rows = []
    for answer, o in selectors.outcomes_by_answer(scope).items():
        people = Figure(o.people, "", k) if o.people >= k else Figure(None, SMALL, k)
        row = OutcomeRow(answer, labels[answer], people)
        rows.append(row)
        if not people.shown:
            continue
        left = protect_line([o.left, o.people - o.left])
        moved = protect_line([o.moved_later, o.people - o.moved_later])
        requests = protect_line([o.people - o.requests, o.waiting, o.placed, o.cancelled])
        offers = protect_line([o.accepted, o.offers - o.accepted])
        asked = [requests.parts[1], requests.parts[2], requests.parts[3]]
        row.figures = {
            "left": left.parts[0],
            "moved_later": moved.parts[0],
            "requests": (
                Figure(o.requests, "", k)
                if all(f.shown for f in asked)
                else Figure(None, WITHHELD, k)
            ),
            "waiting": requests.parts[1],
            "placed": requests.parts[2],
            "offers": offers.total,
            "accepted": offers.parts[0],
        }
        if answer == "yes":
            row.figures.update(dict.fromkeys(placement))
        if len(o.days_to_placement) >= k:
            row.median_days = formats.number_format(
                round(median(o.days_to_placement), 1), decimal_pos=1
            )
    return rows
