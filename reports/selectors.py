"""Reads for the dashboards and exports: counts only, limited to a scope, never a reason.

A campaign's page needs the same counts cut four ways (by team, by job title, by day of
decision, by deadline). One statement computes each proposal's category once, in a CTE, and
groups it four times, so the proposals are read once per page however many breakdowns there
are; a second statement computes the median time to decide. Both are plain SQL, written for
PostgreSQL and SQLite alike (with two small per-vendor fragments), because Django's ORM cannot
group one pass several ways.

Nothing here reads the consent ledger: the decisions are the proposals' states, so a private
reason cannot reach a dashboard (the drill-down selects names and decisions, nothing else).
The views call these inside `reports.routers.reading_from_replica()`, and each statement runs
on `reports.routers.replica_alias()`.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import connections

from assignments.models import Campaign, Move, PlacementRequest, Proposal
from people.models import Employee, Team
from reports.permissions import Scope
from reports.routers import replica_alias

# The categories every proposal falls in exactly once, in the order the pages show them.
CATEGORIES = (
    "pending",  # waiting for an answer
    "opted_in",  # said yes, the move has not happened yet
    "effective",  # moved (or, for a retroactive confirmation, stayed)
    "undrafted",  # moved, then asked to leave; or a retroactive confirmation's "undraft"
    "opted_out",  # said no (or took a yes back before the move)
    "expired",  # the deadline passed in silence
    "no_consent",  # a retroactive confirmation that expired or was withdrawn, none confirmed
    "withdrawn",  # the proposer took it back
)
PENDING = 0
DECIDED_BY_THE_PERSON = ("opted_in", "effective", "opted_out")  # states, for time to decide

P, E, T = Proposal._meta.db_table, Employee._meta.db_table, Team._meta.db_table
PR, M = PlacementRequest._meta.db_table, Move._meta.db_table

# The one definition of the categories (indexes into CATEGORIES), over a proposal `p`.
# Someone moved before the portal who has not (yet) confirmed it themselves: whether their
# confirmation expired or HR withdrew it, nobody has their consent on record.
NEVER_CONFIRMED = f"""p.kind = 'retroactive' AND p.employee_id NOT IN (
              SELECT confirmed.employee_id FROM {P} confirmed
              WHERE confirmed.kind = 'retroactive' AND confirmed.state = 'effective')"""
CATEGORY_SQL = f"""CASE
      WHEN p.state = 'pending' THEN 0
      WHEN p.state = 'opted_in' THEN 1
      WHEN p.state = 'withdrawn' THEN CASE WHEN {NEVER_CONFIRMED} THEN 6 ELSE 7 END
      WHEN p.state = 'expired' THEN CASE WHEN {NEVER_CONFIRMED} THEN 6 ELSE 5 END
      WHEN (p.state = 'effective' OR p.kind = 'retroactive')
          AND p.id IN (SELECT source_proposal_id FROM {PR}) THEN 3
      WHEN p.state = 'effective' THEN 2
      ELSE 4
    END"""
COUNTS_SQL = ", ".join(f"COUNT(*) FILTER (WHERE category = {i})" for i in range(len(CATEGORIES)))


def _day(column: str, vendor: str) -> str:
    """The UTC calendar day of a timestamp, as YYYY-MM-DD text."""
    if vendor == "postgresql":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    return f"date({column})"


def _seconds_between(start: str, end: str, vendor: str) -> str:
    if vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM ({end} - {start}))"
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


def _scope_sql(scope: Scope) -> tuple[str, list]:
    if scope.manager_id is None:
        return "", []
    return " AND e.manager_id = %s", [scope.manager_id]


def _fetch(sql: str, params: list) -> list[tuple]:
    with connections[replica_alias()].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _vendor() -> str:
    return connections[replica_alias()].vendor


# --- the overview ----------------------------------------------------------------------------


@dataclass
class CampaignCounts:
    id: int
    name: str
    state: str
    sent_at: datetime | None
    counts: list[int]
    retroactive: int = 0  # how many of its proposals are retroactive confirmations


def campaigns_with_counts_sql(scope: Scope) -> list[tuple[str, list]]:
    """The overview's one statement (also run bare by the benchmark's floor).

    It groups by campaign and category, one row each, and the rows are turned into one line
    per campaign in Python: grouping by campaign alone would need one `COUNT(*) FILTER` per
    category, and PostgreSQL inlines the CTE into each of them, working out every proposal's
    category eight times over.
    """
    where, params = _scope_sql(scope)
    C = Campaign._meta.db_table
    join = f" JOIN {E} e ON e.id = p.employee_id" if where else ""  # HR: everyone, no join
    sql = f"""
        WITH scoped AS (
            SELECT p.campaign_id, p.kind, {CATEGORY_SQL} AS category
            FROM {P} p{join}
            WHERE p.campaign_id IS NOT NULL{where}
        ), counted AS (
            SELECT campaign_id, category, COUNT(*) AS n,
                   COUNT(*) FILTER (WHERE kind = 'retroactive') AS retroactive
            FROM scoped GROUP BY campaign_id, category
        )
        SELECT c.id, c.name, c.state, c.sent_at, s.category, s.n, s.retroactive
        FROM counted s JOIN {C} c ON c.id = s.campaign_id
        ORDER BY c.created_at DESC, c.id DESC, s.category
    """
    return [(sql, params)]


def campaigns_with_counts(scope: Scope) -> list[CampaignCounts]:
    """Every campaign with someone in scope, newest first, with its count per category."""
    [(sql, params)] = campaigns_with_counts_sql(scope)
    campaigns: dict[int, CampaignCounts] = {}
    for pk, name, state, sent_at, category, count, retroactive in _fetch(sql, params):
        row = campaigns.get(pk)
        if row is None:
            row = campaigns[pk] = CampaignCounts(pk, name, state, sent_at, [0] * len(CATEGORIES))
        row.counts[category] = count
        row.retroactive += retroactive
    return list(campaigns.values())  # in the statement's order: newest first


# --- one campaign ----------------------------------------------------------------------------


@dataclass
class CampaignBreakdowns:
    """A campaign's counts per category, cut four ways (keys as the database gave them).
    `days` leaves out decisions without a date (none since decided_at exists)."""

    teams: dict[int | None, tuple[str, list[int]]] = field(default_factory=dict)
    titles: dict[str, list[int]] = field(default_factory=dict)
    days: dict[date | None, list[int]] = field(default_factory=dict)  # non-pending, by decision
    deadlines: dict[date, int] = field(default_factory=dict)  # pending, by deadline day
    median_seconds: float | None = None
    decided: int = 0
    retroactive: int = 0  # retroactive confirmations among them ("no consent" needs one)
    first_day: date | None = None  # when the first proposal went out

    counts: list[int] | None = None  # per category, everyone (the statement's last row)

    @property
    def totals(self) -> list[int]:
        if self.counts is not None:
            return self.counts
        totals = [0] * len(CATEGORIES)
        for _name, counts in self.teams.values():
            totals = [a + b for a, b in zip(totals, counts, strict=True)]
        return totals


def campaign_breakdowns_sql(scope: Scope, campaign_id: int) -> list[tuple[str, list]]:
    """The two statements a campaign's page runs (also run bare by the benchmark's floor)."""
    vendor = _vendor()
    where, params = _scope_sql(scope)
    day, deadline = _day("decided_at", vendor), _day("response_deadline", vendor)
    breakdowns = f"""
        WITH scoped AS (
            SELECT p.from_team_id, COALESCE(t.name, '') AS team_name, e.title, p.decided_at,
                   p.response_deadline, p.created_at, p.kind, {CATEGORY_SQL} AS category
            FROM {P} p JOIN {E} e ON e.id = p.employee_id LEFT JOIN {T} t ON t.id = p.from_team_id
            WHERE p.campaign_id = %s{where}
        )
        SELECT 'team', CAST(from_team_id AS TEXT), MAX(team_name), {COUNTS_SQL}
            FROM scoped GROUP BY from_team_id
        UNION ALL SELECT 'title', title, NULL, {COUNTS_SQL} FROM scoped GROUP BY title
        UNION ALL SELECT 'day', {day}, NULL, {COUNTS_SQL}
            FROM scoped WHERE category <> {PENDING} GROUP BY {day}
        UNION ALL SELECT 'deadline', {deadline}, NULL, {COUNTS_SQL}
            FROM scoped WHERE category = {PENDING} GROUP BY {deadline}
        UNION ALL SELECT 'retroactive', NULL, NULL, {COUNTS_SQL}
            FROM scoped WHERE kind = 'retroactive'
        UNION ALL SELECT 'start', MIN({_day("created_at", vendor)}), NULL, {COUNTS_SQL}
            FROM scoped
    """
    states = ", ".join(f"'{s}'" for s in DECIDED_BY_THE_PERSON)
    seconds = _seconds_between("p.created_at", "p.decided_at", vendor)
    join = f" JOIN {E} e ON e.id = p.employee_id" if where else ""  # HR: no join needed
    decided = f"""
        SELECT {seconds} AS s FROM {P} p{join}
        WHERE p.campaign_id = %s AND p.state IN ({states}) AND p.decided_at IS NOT NULL{where}
    """
    if vendor == "postgresql":
        median = (
            f"SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s), COUNT(*) FROM ({decided}) d"
        )
    else:  # SQLite has no percentile: the middle row(s) by rank
        median = f"""
            SELECT AVG(s), MAX(n) FROM (
                SELECT s, ROW_NUMBER() OVER (ORDER BY s) AS i, COUNT(*) OVER () AS n
                FROM ({decided}) d
            ) ranked WHERE i IN ((n + 1) / 2, (n + 2) / 2)
        """
    return [(breakdowns, [campaign_id, *params]), (median, [campaign_id, *params])]


def _as_date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def campaign_breakdowns(scope: Scope, campaign_id: int) -> CampaignBreakdowns:
    """Two queries, whatever the size of the campaign."""
    (breakdowns_sql, params), (median_sql, median_params) = campaign_breakdowns_sql(
        scope, campaign_id
    )
    result = CampaignBreakdowns()
    for dim, key, label, *counts in _fetch(breakdowns_sql, params):
        if dim == "team":
            result.teams[int(key) if key is not None else None] = (label or "", counts)
        elif dim == "title":
            result.titles[key or ""] = counts
        elif dim == "day":
            result.days[_as_date(key)] = counts
        elif dim == "deadline":
            result.deadlines[_as_date(key)] = counts[PENDING]
        elif dim == "retroactive":
            result.retroactive = sum(counts)
        else:  # "start": the first proposal's day, and everyone's counts
            result.first_day = _as_date(key)
            result.counts = counts
    median, decided = _fetch(median_sql, median_params)[0]
    result.median_seconds = float(median) if median is not None else None
    result.decided = int(decided or 0)
    return result


def campaign_for(scope: Scope, campaign_id: int) -> Campaign | None:
    """The campaign, if it exists (HR) or concerns one of the manager's reports."""
    campaigns = Campaign.objects.using(replica_alias()).only("id", "name", "state", "sent_at")
    if scope.manager_id is not None:
        campaigns = campaigns.filter(proposals__employee__manager_id=scope.manager_id).distinct()
    return campaigns.filter(pk=campaign_id).first()


# --- named people (HR only) ------------------------------------------------------------------


@dataclass
class PersonRow:
    proposal_id: int
    name: str
    user_id: int
    team: str
    title: str
    category: str
    decided_at: datetime | None


def titles_in_campaign(scope: Scope, campaign_id: int) -> list[str]:
    where, params = _scope_sql(scope)
    sql = f"""SELECT DISTINCT e.title FROM {P} p JOIN {E} e ON e.id = p.employee_id
              WHERE p.campaign_id = %s{where}"""
    return [row[0] for row in _fetch(sql, [campaign_id, *params])]


def people_in_campaign(
    scope: Scope,
    campaign_id: int,
    *,
    category: int | None = None,
    team_id: int | None = None,
    titles: list[str] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[PersonRow], int]:
    """One page of the people a campaign's proposals went to, with their decision, by name;
    and how many there are in all. Names and decisions only."""
    where, params = _scope_sql(scope)
    filters, values = [], []
    if category is not None:
        filters.append("category = %s")
        values.append(category)
    if team_id is not None:
        filters.append("from_team_id = %s")
        values.append(team_id)
    if titles is not None:
        if not titles:
            return [], 0
        filters.append(f"title IN ({', '.join(['%s'] * len(titles))})")
        values += titles
    sql = f"""
        WITH scoped AS (
            SELECT p.id, e.name, e.user_id, p.from_team_id, COALESCE(t.name, '') AS team_name,
                   e.title, p.decided_at, {CATEGORY_SQL} AS category
            FROM {P} p JOIN {E} e ON e.id = p.employee_id LEFT JOIN {T} t ON t.id = p.from_team_id
            WHERE p.campaign_id = %s{where}
        )
        SELECT id, name, user_id, team_name, title, category, decided_at, COUNT(*) OVER ()
        FROM scoped {"WHERE " + " AND ".join(filters) if filters else ""}
        ORDER BY name, id LIMIT %s OFFSET %s
    """
    rows = _fetch(sql, [campaign_id, *params, *values, limit, offset])
    people = [PersonRow(r[0], r[1], r[2], r[3], r[4] or "", CATEGORIES[r[5]], r[6]) for r in rows]
    return people, (rows[0][7] if rows else 0)


# --- no adverse consequence ------------------------------------------------------------------


@dataclass
class OutcomeCounts:
    """What became of the people whose latest answer to a campaign was yes, or no."""

    people: int = 0
    left: int = 0  # no longer active: left the company
    moved_later: int = 0  # another move after that answer (always with their own opt-in)
    requests: int = 0  # preferential placement requests opened by an undraft
    waiting: int = 0  # ... still open or with an offer out
    placed: int = 0  # ... filled by a placement move
    cancelled: int = 0
    offers: int = 0  # placement offers made to them
    accepted: int = 0  # ... that they opted in to
    days_to_placement: list[float] = field(default_factory=list)


def outcomes_by_answer_sql(scope: Scope) -> list[tuple[str, list]]:
    """The three statements of `outcomes_by_answer` (also run bare by the benchmark's floor):
    people and what became of them, their placement requests, and the placed ones' waits."""
    where, params = _scope_sql(scope)
    vendor = _vendor()
    decided = "p.campaign_id IS NOT NULL AND p.decided_at IS NOT NULL " + (
        "AND p.state IN ('opted_in', 'effective', 'opted_out')"
    )
    if vendor == "postgresql":
        # Each person's latest answer straight off proposal_latest_answer_idx (in the order
        # DISTINCT ON needs, index-only: no sort of every decided proposal), then the
        # category and the active flag for those rows only, computed once (MATERIALIZED:
        # each statement reads `latest` twice).
        latest = f"""
        WITH decided AS (
            SELECT DISTINCT ON (p.employee_id) p.id, p.employee_id, p.decided_at, p.state, p.kind
            FROM {P} p WHERE {decided}
            ORDER BY p.employee_id, p.decided_at DESC, p.id DESC
        ), latest AS MATERIALIZED (
            SELECT p.id, p.employee_id, p.decided_at, e.is_active,
                   CASE WHEN {CATEGORY_SQL} IN (3, 4) THEN 'no' ELSE 'yes' END AS answer
            FROM decided p JOIN {E} e ON e.id = p.employee_id
            WHERE TRUE{where}
        )"""
    else:  # SQLite has no DISTINCT ON: the window function does the same
        latest = f"""
        WITH answered AS (
            SELECT p.id, p.employee_id, p.decided_at, e.is_active, {CATEGORY_SQL} AS category,
                   ROW_NUMBER() OVER (PARTITION BY p.employee_id
                                      ORDER BY p.decided_at DESC, p.id DESC) AS n
            FROM {P} p JOIN {E} e ON e.id = p.employee_id
            WHERE {decided}{where}
        ), latest AS (
            SELECT id, employee_id, decided_at, is_active,
                   CASE WHEN category IN (3, 4) THEN 'no' ELSE 'yes' END AS answer
            FROM answered WHERE n = 1
        )"""
    # Moved again after that answer, by another proposal: one join of the people with the
    # moves (a lookup per person was tens of thousands of index probes at 100,000 people).
    people_sql = f"""{latest}, moved_later AS (
            SELECT DISTINCT l.employee_id FROM latest l JOIN {M} m ON m.employee_id = l.employee_id
            WHERE m.applied_at > l.decided_at AND m.proposal_id <> l.id
        )
        SELECT l.answer, COUNT(*),
               COUNT(*) FILTER (WHERE NOT l.is_active),
               COUNT(ml.employee_id)
        FROM latest l LEFT JOIN moved_later ml ON ml.employee_id = l.employee_id
        GROUP BY l.answer
    """
    requests_sql = f"""{latest}
        SELECT l.answer, r.state, COUNT(*),
               SUM((SELECT COUNT(*) FROM {P} o WHERE o.placement_request_id = r.id)),
               SUM((SELECT COUNT(*) FROM {P} o WHERE o.placement_request_id = r.id
                    AND o.state IN ('opted_in', 'effective')))
        FROM latest l JOIN {PR} r ON r.source_proposal_id = l.id
        GROUP BY l.answer, r.state
    """
    seconds = _seconds_between("r.created_at", "m.applied_at", vendor)
    placed_sql = f"""{latest}
        SELECT l.answer, {seconds}
        FROM latest l JOIN {PR} r ON r.source_proposal_id = l.id
        JOIN {P} o ON o.placement_request_id = r.id JOIN {M} m ON m.proposal_id = o.id
        WHERE r.state = 'filled'
    """
    return [(people_sql, params), (requests_sql, params), (placed_sql, params)]


def outcomes_by_answer(scope: Scope) -> dict[str, OutcomeCounts]:
    """Per person, their latest answer to any campaign ("yes": opted in or moved; "no": opted
    out or undrafted), and what happened to them afterwards. Three queries."""
    (people_sql, params), (requests_sql, _p), (placed_sql, _q) = outcomes_by_answer_sql(scope)
    result = defaultdict(OutcomeCounts)
    for answer, people, left, moved in _fetch(people_sql, params):
        result[answer].people, result[answer].left, result[answer].moved_later = people, left, moved
    for answer, state, count, offers, accepted in _fetch(requests_sql, params):
        counts = result[answer]
        counts.requests += count
        counts.offers += int(offers or 0)
        counts.accepted += int(accepted or 0)
        if state in (PlacementRequest.State.OPEN, PlacementRequest.State.OFFERED):
            counts.waiting += count
        elif state == PlacementRequest.State.FILLED:
            counts.placed += count
        else:
            counts.cancelled += count
    for answer, seconds in _fetch(placed_sql, params):
        result[answer].days_to_placement.append(float(seconds) / 86400)
    return {answer: result[answer] for answer in ("no", "yes")}
