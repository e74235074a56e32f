"""A campaign's page shows one family of figures: the categories, the breakdowns by team and
by job level, decisions over time, upcoming deadlines, and a filtered view per team and per
level. No comparison of any of them (two filters, a filter and the whole, a team and a level)
may give away a hidden count under 5.

The proof here does not use the module's own witnesses. For a random group of people it
looks for a *different* group of people that every published figure, on every view, agrees
with (shown numbers equal, hidden ones inside what their label admits) and that differs in the
hidden count. It searches the smallest changes there are: one person's decision, two people
swapping teams or job titles, a decision or a deadline on another day. If such a group exists,
nothing on the pages, however combined, can tell the two apart, so the hidden count cannot be
recovered. Every hidden small figure must have one.
"""

from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports import levels
from reports.dashboards import (
    _STARTS,
    OTHER,
    _buckets,
    build_campaign_dashboard,
    deadline_row,
)
from reports.selectors import CATEGORIES, CampaignBreakdowns
from reports.suppression import COMPLEMENT, NOT_APPLICABLE, SMALL, SMALL_TABLE_ROWS, WITHHELD

K = 5
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FIRST_DAY = date(2026, 2, 16)  # the first proposal; the timeline runs from here to NOW
# Decision days (the timeline's rows). People are drawn deciding on one of three of them; a
# change may move a decision to any day.
DAYS = [FIRST_DAY + timedelta(days=n) for n in range((NOW.date() - FIRST_DAY).days + 1)]
DRAWN_DAYS = [4, 7, 8]
# Deadline days: the page's rows are "past", the next 14 days, and "later". People are drawn
# with one of the first few; a change may move a deadline to any row.
DEADLINES = [
    NOW.date() + timedelta(days=1),
    NOW.date() + timedelta(days=3),
    NOW.date(),
    NOW.date() - timedelta(days=1),
    *[NOW.date() + timedelta(days=n) for n in (2, *range(4, 14))],
    NOW.date() + timedelta(days=30),
]
DRAWN_DEADLINES = 3
TITLES = ["Software Engineer", "Senior Software Engineer", "Staff Engineer"]
PENDING, NO_CONSENT = CATEGORIES.index("pending"), CATEGORIES.index("no_consent")


@st.composite
def people(draw, teams=4, most=40):
    n_teams = draw(st.integers(2, teams))
    size = draw(st.integers(K, most))
    skew = draw(st.sampled_from([None, "pending", "opted_out", "withdrawn"]))
    category = st.integers(0, len(CATEGORIES) - 1)
    if skew:  # most people in one category: the cases where zeros are everywhere
        category = st.one_of(st.just(CATEGORIES.index(skew)), category)
    group = []
    for _ in range(size):
        group.append(
            {
                "team": draw(st.integers(0, n_teams - 1)),
                "title": draw(st.sampled_from(TITLES)),
                "category": draw(category),
                "day": draw(st.sampled_from(DRAWN_DAYS)),
                "deadline": draw(st.integers(0, DRAWN_DEADLINES - 1)),
            }
        )
    return group


def breakdowns(group) -> CampaignBreakdowns:
    """What reports.selectors.campaign_breakdowns would return for these people."""
    data = CampaignBreakdowns()
    width = len(CATEGORIES)
    for p in group:
        c = p["category"]
        name, counts = data.teams.setdefault(p["team"], (f"Team {p['team']}", [0] * width))
        counts[c] += 1
        data.titles.setdefault(p["title"], [0] * width)[c] += 1
        if c == PENDING:
            day = DEADLINES[p["deadline"]]
            data.deadlines[day] = data.deadlines.get(day, 0) + 1
        else:
            data.days.setdefault(DAYS[p["day"]], [0] * width)[c] += 1
    data.retroactive = sum(p["category"] == NO_CONSENT for p in group)
    data.first_day = FIRST_DAY
    return data


def views(group):
    """Every figure of every view, by a key that names it the same in each population."""
    data = breakdowns(group)
    whole = build_campaign_dashboard(data, team_page=None, now=NOW)
    if whole.too_few:
        return whole, {}
    shown = {("invited",): whole.summary.invited}
    for column, figure in whole.summary.categories:
        shown[("category", column.key)] = figure
    for b in (whole.teams, whole.levels):
        for row in b.rows:
            shown[(b.key, row.key, "size")] = row.total
            for column, figure in zip(b.columns, row.figures, strict=True):
                shown[(b.key, row.key, column.key)] = figure
    if whole.timeline:
        for column, figures in whole.timeline.series:
            for n, figure in enumerate(figures):
                shown[("time", column.key, n)] = figure
    if whole.deadlines:
        for n, (_label, figure) in enumerate(whole.deadlines.rows):
            shown[("deadline", n)] = figure
    # The filtered views: each must be its row of the breakdown, or refused.
    for b, option in ((whole.teams, "team"), (whole.levels, "level")):
        keys = {str(p["team"]) for p in group} if option == "team" else set(levels.LABELS)
        table_rows = {row.key: row for row in b.rows}
        for key in keys:
            view = build_campaign_dashboard(data, now=NOW, **{option: key})
            if view.group is None:
                assert view.refused
                continue
            row = table_rows[key]
            assert view.group.figures == row.figures and view.group.total == row.total
    return whole, shown


def structure(whole, group):
    """How the figures are cut (the same cuts are applied to a different population)."""
    teams = {row.key for row in whole.teams.rows if not row.combined}
    levels_shown = {row.key for row in whole.levels.rows if not row.combined}
    columns = {c.key for c in whole.teams.columns} or {c.key for c in whole.levels.columns}
    hidden = [
        c
        for c, f in zip(CATEGORIES, [f for _c, f in whole.summary.categories], strict=True)
        if f.hidden and f.hidden != NOT_APPLICABLE
    ]
    granularity, starts = _buckets(FIRST_DAY, NOW.date(), len(group))
    assert whole.timeline is None or whole.timeline.granularity == granularity
    return {
        "bucket_of": lambda day: starts.index(_STARTS[granularity](day)),
        "team_of": lambda p: str(p["team"]) if str(p["team"]) in teams else OTHER,
        "level_of": lambda p: (
            levels.level_of(p["title"]) if levels.level_of(p["title"]) in levels_shown else OTHER
        ),
        "column_of": lambda c: CATEGORIES[c] if CATEGORIES[c] in columns else OTHER,
        "hidden": hidden,
    }


def truth(group, cut) -> dict:
    values: dict = {("invited",): len(group)}
    for c in CATEGORIES:
        values[("category", c)] = 0
    for p in group:
        c, name = p["category"], CATEGORIES[p["category"]]
        values[("category", name)] += 1
        for key, row in (("team", cut["team_of"](p)), ("level", cut["level_of"](p))):
            values[(key, row, "size")] = values.get((key, row, "size"), 0) + 1
            cell = (key, row, cut["column_of"](c))
            values[cell] = values.get(cell, 0) + 1
        if c == PENDING:
            n = deadline_row((DEADLINES[p["deadline"]] - NOW.date()).days)
            values[("deadline", n)] = values.get(("deadline", n), 0) + 1
        else:
            cell = ("time", name, cut["bucket_of"](DAYS[p["day"]]))
            values[cell] = values.get(cell, 0) + 1
    return values


def agrees(figure, value) -> bool:
    if figure.shown:
        return value == figure.value
    if figure.hidden == SMALL:
        return 0 <= value < K
    if figure.hidden == COMPLEMENT:
        return value >= K
    if figure.hidden == NOT_APPLICABLE:
        return value == 0
    assert figure.hidden == WITHHELD
    return value >= 0


def alternatives(group):
    """Every population one small change away."""
    for i, p in enumerate(group):
        for c in range(len(CATEGORIES)):  # (a pending person keeps a day for later)
            if c != p["category"]:
                yield [*group[:i], {**p, "category": c}, *group[i + 1 :]]
        for day in range(len(DAYS)):
            if day != p["day"]:
                yield [*group[:i], {**p, "day": day}, *group[i + 1 :]]
        for deadline in range(len(DEADLINES)):
            if deadline != p["deadline"]:
                yield [*group[:i], {**p, "deadline": deadline}, *group[i + 1 :]]
        for j in range(i + 1, len(group)):
            q = group[j]
            for attribute in ("team", "title"):
                if p[attribute] != q[attribute]:
                    changed = list(group)
                    changed[i] = {**p, attribute: q[attribute]}
                    changed[j] = {**q, attribute: p[attribute]}
                    yield changed


def check_nothing_leaks(group):
    whole, shown = views(group)
    if whole.too_few:
        return
    cut = structure(whole, group)
    original = truth(group, cut)
    secret = {
        key
        for key, figure in shown.items()
        if not figure.shown and figure.hidden != NOT_APPLICABLE and original.get(key, 0) < K
    }
    if not secret:
        return
    protected = set()
    for other in alternatives(group):
        values = truth(other, cut)
        if not all(agrees(f, values.get(key, 0)) for key, f in shown.items()):
            continue
        protected |= {key for key in secret if values.get(key, 0) != original.get(key, 0)}
        if protected == secret:
            return
    assert protected == secret, f"recoverable: {sorted(secret - protected)} in {group}"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people())
def test_no_view_or_pair_of_views_gives_away_a_hidden_small_count(group):
    check_nothing_leaks(group)


@st.composite
def many_teams(draw):
    """More teams than a table is protected whole for: the team breakdown is done row by row,
    with withheld hub rows, as on a large campaign's paged table."""
    group = []
    for team in range(10):
        for _ in range(draw(st.integers(K, K + 2))):
            group.append(
                {
                    "team": team,
                    "title": draw(st.sampled_from(TITLES)),
                    "category": draw(st.sampled_from([0, 1, 2, 4, 4, 5, 7])),
                    "day": draw(st.sampled_from(DRAWN_DAYS)),
                    "deadline": draw(st.integers(0, DRAWN_DEADLINES - 1)),
                }
            )
    return group


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(many_teams())
def test_a_large_team_breakdown_gives_away_nothing_either(group):
    whole, _shown = views(group)
    assert len(whole.teams.rows) > SMALL_TABLE_ROWS
    check_nothing_leaks(group)


def test_a_filter_on_a_group_under_five_is_refused():
    group = [
        {"team": 0, "title": TITLES[0], "category": 0, "day": 0, "deadline": 0} for _ in range(9)
    ] + [{"team": 1, "title": TITLES[1], "category": 4, "day": 0, "deadline": 0} for _ in range(3)]
    data = breakdowns(group)

    view = build_campaign_dashboard(data, team="1", now=NOW)
    assert view.group is None and "Fewer than 5" in view.refused
    both = build_campaign_dashboard(data, team="0", level="senior", now=NOW)
    assert both.group is None and "one filter at a time" in both.refused
