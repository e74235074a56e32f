"""Small-group suppression: the one home of the rule that no figure about fewer than
`PORTAL_SUPPRESS_BELOW` people (5) is shown, or can be worked out from the figures that are.

Every count on a dashboard or in an export is a `Figure` made here. A count under the
threshold reads "<5" (SMALL). Hiding it is not enough: a reader who sees a row's total and
every other cell in the row gets it back by subtraction, and the "<5" label itself says the
value is 0..4, so a row whose hidden cells must add up to 0 gives them all away. So more cells
are hidden (COMPLEMENT, read "hidden": they are 5 or more) until each small one can no longer
be pinned down, and when even that cannot work the cells say nothing at all (WITHHELD).

The guarantee is constructive. For every hidden small value the code records a *witness*: a
change of +1/-1 to a few hidden cells that keeps every published number (cells, row totals,
column totals, the grand total) as it is and keeps every hidden cell inside what its label
admits (SMALL 0..4, COMPLEMENT 5 or more, WITHHELD 0 or more), while the small value itself
changes. A second table, equally consistent with everything shown, has a different value
there, so no arithmetic on the published numbers can recover it. `audit_line` and
`audit_table` re-check every witness against the constraints; the property tests in
tests/reports/ run them, and an independent attacker that subtracts totals, over thousands of
random tables.

Two shapes of table:

- `protect_line`: parts that add up to a total (one campaign's categories; pending people by
  deadline day). A witness moves one person between two hidden parts, or between a part and a
  hidden total.
- `protect_table`: rows x columns with row totals, where the column totals and the grand
  total are published. A witness is a rectangle: rows r1, r2 and columns c1, c2 (c2 may be
  the row-total column), +1 and -1 at alternate corners.

Figures of several tables about the same people stay safe together when each table keeps the
others' published numbers fixed, which the callers arrange (reports/dashboards.py): the
breakdowns use the campaign's published categories as their column totals and fold the hidden
ones into one "other" column whose total is the published total minus the published parts.

A large table (more rows than `SMALL_TABLE_ROWS`) is paged, so it is protected one row at a
time: a few "hub" rows, chosen from the whole table, have their cells withheld, and each other
row is protected by rectangles with a hub. A row's result then depends only on its own values
and the hubs', so a page, a CSV of every row and a filter on one row show the same cells (a
property test checks it). Small tables are protected as a whole, which hides fewer cells.

Labels only ever widen ("<5" or "hidden" to "withheld"), never narrow, so a witness found
earlier stays true whatever is hidden after it. When no partial arrangement works, a table is
withheld whole: the code fails closed.
"""

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.formats import number_format
from django.utils.html import conditional_escape, format_html
from django.utils.translation import get_language
from django.utils.translation import gettext as _

SMALL, COMPLEMENT, WITHHELD = "small", "complement", "withheld"
NOT_APPLICABLE = "not_applicable"  # cannot happen here (no retroactive confirmations): no count
SMALL_TABLE_ROWS = 8  # up to this many rows a table is protected as a whole


def threshold() -> int:
    """Counts below this are never shown (settings.PORTAL_SUPPRESS_BELOW, default 5)."""
    return int(getattr(settings, "PORTAL_SUPPRESS_BELOW", 5))


@dataclass(frozen=True, slots=True)
class Figure:
    """One published count: its value when shown, else None and why it is hidden."""

    value: int | None
    hidden: str = ""
    below: int = 5

    @property
    def shown(self) -> bool:
        return not self.hidden

    @property
    def label(self) -> str:
        """Plain text, for CSV and chart data."""
        if not self.hidden:
            return str(self.value)
        if self.hidden == SMALL:
            return f"<{self.below}"
        return _LABELS[self.hidden]()

    @property
    def html(self) -> str:
        """For table cells: the label, with words a screen reader can say."""
        return cell_html(self, get_language())

    def __str__(self) -> str:
        return self.label


_LABELS = {
    COMPLEMENT: lambda: _("hidden"),
    WITHHELD: lambda: _("withheld"),
    NOT_APPLICABLE: lambda: _("does not apply"),
}


@functools.lru_cache(maxsize=4096)
def _cell_html(value: int | None, hidden: str, below: int, language: str | None) -> str:
    # Remembered: a campaign's page draws hundreds of cells, most of them the same few
    # labels and small numbers, and formatting each afresh was a third of drawing the page.
    if not hidden:
        return conditional_escape(number_format(value, force_grouping=True))
    if hidden == SMALL:
        return format_html(
            '<span aria-hidden="true">&lt;{}</span><span class="visually-hidden">{}</span>',
            below,
            _("fewer than %(n)s") % {"n": below},
        )
    return format_html('<span class="meta">{}</span>', _LABELS[hidden]())


def cell_html(figure: Figure, language: str | None) -> str:
    """`Figure.html` in a given language (a table's filter asks once for all its cells)."""
    return _cell_html(figure.value, figure.hidden, figure.below, language)


@receiver(setting_changed)
def _forget_cell_html(**kwargs):
    # Number formats are settings (and tests override them): drawn cells must follow.
    _cell_html.cache_clear()


def figure(value: int, kind: str, k: int) -> Figure:
    return Figure(None if kind else value, kind, k)


# --- bounds: what each label tells a reader about the value behind it -----------------------


def _fits(value: int, kind: str, delta: int, k: int) -> bool:
    """Whether value + delta is still something this cell's label admits."""
    moved = value + delta
    if kind == SMALL:
        return 0 <= moved <= k - 1
    if kind == COMPLEMENT:
        return moved >= k
    if kind == WITHHELD:
        return moved >= 0
    return delta == 0  # a published cell cannot move at all


_WIDER = {"": (SMALL, COMPLEMENT, WITHHELD), SMALL: (SMALL, WITHHELD),
          COMPLEMENT: (COMPLEMENT, WITHHELD), WITHHELD: (WITHHELD,)}  # fmt: skip


def _hide(value: int, kind: str, delta: int, k: int):
    """The cheapest way for a cell to take part in a move of `delta`: (cost, kind) or None.

    A hidden cell that fits costs nothing. A published one is hidden with the label its value
    earns ("<5" or "hidden"), which costs about its value. When that label would not admit the
    move (a hidden 5 cannot drop to 4), the cell is withheld instead, which says nothing and
    costs more. Labels only ever widen, so witnesses found earlier stay true.
    """
    for option in _WIDER[kind]:
        if option == SMALL and value >= k or option == COMPLEMENT and value < k:
            continue
        if _fits(value, option, delta, k):
            if option == kind:
                return 0, kind
            cost = (0 if kind else 1 + value) + (3 if option == WITHHELD else 0)
            return cost, option
    return None


# --- one line: parts and their total ----------------------------------------------------------


@dataclass
class Line:
    """Parts that add up to a total, after suppression. `witnesses` maps each hidden small
    position (len(parts) is the total) to its change {position: +1/-1}."""

    parts: list[Figure]
    total: Figure
    witnesses: dict[int, dict[int, int]] = field(default_factory=dict)


def protect_line(
    values: Sequence[int],
    *,
    k: int | None = None,
    affinity: Callable[[int, int], int] | None = None,
) -> Line:
    """Suppress parts that add up to a published total (the total is hidden only when it is
    itself under the threshold, and then so is every part).

    `affinity(i, j)` (lower is closer) says which part should rather be hidden beside part i
    when several would do: parts hidden together can still be shown as their sum, so a
    caller keeps related parts together (the dashboards keep "moved" with "undrafted").
    A part already hidden is always preferred, then affinity, then the smaller count.
    """
    k = k or threshold()
    cells = [*values, sum(values)]
    if cells and min(cells) < 0:
        raise ValueError("counts cannot be negative")
    n = len(values)
    kinds = [SMALL if v < k else "" for v in cells]
    witnesses = {}
    for i in range(n + 1):
        if not _sensitive(cells[i], kinds[i], k):
            continue
        found = _line_move(i, cells, kinds, k, affinity)
        if found is None:  # only a line of one part, which is its own total
            continue
        move, changes = found
        for j, kind in changes:
            kinds[j] = kind
        witnesses[i] = move
    return Line(
        parts=[figure(cells[i], kinds[i], k) for i in range(n)],
        total=figure(cells[n], kinds[n], k),
        witnesses=witnesses,
    )


def _sensitive(value: int, kind: str, k: int) -> bool:
    """A hidden figure about fewer than k people: it needs a witness."""
    return kind in (SMALL, WITHHELD) and value < k


def _line_move(i: int, cells: list[int], kinds: list[str], k: int, affinity=None):
    """The cheapest move that changes position i: (move, [(position, new kind)]) or None."""
    n = len(cells) - 1
    best = None
    affinity = affinity or (lambda i, j: 0)
    for s in (1, -1):
        mine = _hide(cells[i], kinds[i], s, k)
        if mine is None:
            continue
        if i == n:  # the total moves with one part (every part is small when it is)
            options = [(j, s) for j in range(n)]
        else:  # another part moves the other way, or a hidden (small) total moves too
            options = [(j, -s) for j in range(n) if j != i]
            if kinds[n]:
                options.append((n, s))
        for j, d in options:
            other = _hide(cells[j], kinds[j], d, k)
            if other is None:
                continue
            cost = mine[0] + other[0]
            key = (cost > 0, affinity(i, j) if j < n else 0, cost)
            if best is None or key < best[0]:
                changes = [(p, h[1]) for p, h in ((i, mine), (j, other)) if h[1] != kinds[p]]
                best = (key, {i: s, j: d}, changes)
    return None if best is None else (best[1], best[2])


def audit_line(values: Sequence[int], line: Line, *, k: int | None = None) -> list[str]:
    """Problems with a protected line: a shown value that is wrong or small, or a hidden small
    value without a witness that keeps the published numbers and the labels true."""
    k = k or threshold()
    cells = [*values, sum(values)]
    figures = [*line.parts, line.total]
    n = len(values)
    problems = []
    for i, (v, f) in enumerate(zip(cells, figures, strict=True)):
        if f.shown and (f.value != v or v < k):
            problems.append(f"position {i} shows {f.value}, truth {v}")
        if f.shown or not _sensitive(v, f.hidden, k):
            continue
        move = line.witnesses.get(i)
        if not move or not move.get(i):
            problems.append(f"position {i} has no witness")
            continue
        if sum(d for j, d in move.items() if j < n) != move.get(n, 0):
            problems.append(f"witness of {i} changes the sum")
        for j, d in move.items():
            if figures[j].shown or not _fits(cells[j], figures[j].hidden, d, k):
                problems.append(f"witness of {i} moves {j} out of what it shows")
    return problems


# --- a table: rows x columns, with row totals; column totals are published ----------------------


@dataclass
class Table:
    """A protected table. `rows[r]` holds the figures of row r's columns and, last, its total
    (only the rows asked for, and the hubs, of a large table). `witnesses` maps each hidden small
    cell (r, c) to its rectangle {(row, column): +1/-1}; column m is the row total."""

    rows: dict[int, list[Figure]]
    columns: int
    witnesses: dict[tuple[int, int], dict[tuple[int, int], int]] = field(default_factory=dict)
    hubs: tuple[int, ...] = ()
    withheld: bool = False


def protect_table(
    values: Sequence[Sequence[int]],
    *,
    rows: Iterable[int] | None = None,
    prefer_hubs: Sequence[int] = (),
    k: int | None = None,
) -> Table:
    """Suppress a table whose column totals and grand total are published.

    `values[r][c]` are the cells; each row's total is their sum. `rows` limits the work to
    the rows a page shows (large tables only; a small table is always done whole).
    `prefer_hubs` names rows to withhold first when hubs are needed (e.g. "other teams").
    There must be two rows or more (one row would only repeat the column totals), and every
    column must add up to at least 1 (a column of zeros says nothing: leave it out).
    """
    k = k or threshold()
    grid = [[*row, sum(row)] for row in values]
    if len(grid) < 2:
        raise ValueError("a table of one row repeats its column totals: show those instead")
    m = len(grid[0]) - 1
    if any(len(row) != m + 1 for row in grid):
        raise ValueError("every row needs the same columns")
    if min(map(min, grid)) < 0:
        raise ValueError("counts cannot be negative")
    for c, total in enumerate(map(sum, zip(*grid, strict=True))):
        if total == 0:
            raise ValueError(f"column {c} adds up to 0: leave it out")
    if len(grid) <= SMALL_TABLE_ROWS:
        return _protect_whole(grid, m, k)
    return _protect_by_row(grid, m, k, rows, prefer_hubs)


def _protect_whole(grid, m, k) -> Table:
    """A small table: every hidden small cell gets the cheapest rectangle with any other row."""
    n = len(grid)
    kinds = [[SMALL if v < k else "" for v in row] for row in grid]
    witnesses = {}
    for r in range(n):
        partners = [p for p in range(n) if p != r]
        for c in range(m + 1):
            if not _sensitive(grid[r][c], kinds[r][c], k):
                continue
            found = _rectangle(r, c, grid, kinds, m, k, partners)
            if found is None:  # cannot happen with two rows and no empty column
                return _withheld_table(grid, m, k)
            move, changes = found
            for (rr, cc), kind in changes:
                kinds[rr][cc] = kind
            witnesses[(r, c)] = move
    return Table(
        rows={
            r: [figure(v, kinds[r][c], k) for c, v in enumerate(row)] for r, row in enumerate(grid)
        },
        columns=m,
        witnesses=witnesses,
    )


def _withheld_table(grid, m, k) -> Table:
    """Nothing about any cell (fail closed)."""
    n = len(grid)
    kinds = [[WITHHELD] * (m + 1) for _ in grid]
    witnesses = {}
    for r in range(n):
        partners = [p for p in range(n) if p != r]
        for c in range(m + 1):
            if _sensitive(grid[r][c], WITHHELD, k):
                found = _rectangle(r, c, grid, kinds, m, k, partners)
                if found is not None:
                    witnesses[(r, c)] = found[0]
    return Table(
        rows={r: [Figure(None, WITHHELD, k)] * (m + 1) for r in range(n)},
        columns=m,
        witnesses=witnesses,
        withheld=True,
    )


def _choose_hubs(grid, m, prefer, k) -> tuple[list[int], bool]:
    """At least two rows that between them have someone in every column, smallest rows first;
    and whether the hubs' sizes are withheld too.

    A hub's cells are withheld. A withheld cell holding someone can give that person up,
    which is what lets the zeros of every other row change, and any withheld cell can take
    one more. A hub's size stays shown, unless some row is under k people: that row's size
    is hidden, and only another hidden size can make up for a change to it, so then the two
    smallest rows are hubs and the hubs' sizes are withheld as well.
    """
    smallest = sorted(range(len(grid)), key=lambda r: grid[r][m])
    order = list(dict.fromkeys([*prefer, *smallest]))
    tiny = grid[smallest[0]][m] < k
    hubs: list[int] = smallest[:2] if tiny else []
    for c in range(m):
        if not any(grid[h][c] for h in hubs):
            hubs.append(next(r for r in order if grid[r][c]))  # every column adds up to 1+
    for r in order:
        if len(hubs) >= 2:
            break
        if r not in hubs:
            hubs.append(r)
    return hubs, tiny


def _protect_by_row(grid, m, k, rows, prefer) -> Table:
    hubs, sizes_withheld = _choose_hubs(grid, m, prefer, k)
    wanted = range(len(grid)) if rows is None else rows
    todo = list(dict.fromkeys([*hubs, *wanted]))
    # A hub never changes once chosen, so that what any row shows depends on that row and the
    # hubs only: a page, every row (the CSV) and one row (a filter) show it the same way.
    size = WITHHELD if sizes_withheld else ""
    kinds: dict[int, list[str]] = {h: [WITHHELD] * m + [size] for h in hubs}
    witnesses = {}
    for r in todo:
        kinds.setdefault(r, [SMALL if v < k else "" for v in grid[r]])
        partners = [h for h in hubs if h != r]
        found = _row_witnesses(r, grid, kinds, m, k, partners, fixed=True)
        if found is None:  # cannot happen: the hubs cover every column; fail closed anyway
            return _withheld_table(grid, m, k)
        witnesses.update(found)
    return Table(
        rows={r: [figure(v, kinds[r][c], k) for c, v in enumerate(grid[r])] for r in todo},
        columns=m,
        witnesses=witnesses,
        hubs=tuple(hubs),
    )


def _row_witnesses(r, grid, kinds, m, k, partners, fixed=False) -> dict | None:
    """Rectangles with the hubs for every small hidden cell of row r, hiding more of row r's
    cells when needed (the hubs are withheld already, so nothing else changes)."""
    found = {}
    for c in range(m + 1):
        if not _sensitive(grid[r][c], kinds[r][c], k):
            continue
        hit = _rectangle(r, c, grid, kinds, m, k, partners, fixed=fixed)
        if hit is None:
            return None
        move, changes = hit
        for (rr, cc), kind in changes:
            kinds[rr][cc] = kind
        found[(r, c)] = move
    return found


def _rectangle(r1, c1, grid, kinds, m, k, partners, fixed=False):
    """The cheapest rectangle through (r1, c1): (move, [((row, col), new kind)]) or None.

    Corners: (r1, c1) +a, (r1, c2) b, (r2, c1) -a, (r2, c2) -b, where b = -a when both columns
    are cells (the row totals stay) and b = +a when one of them is the row total (the total
    moves with the cell). Column sums never change, so the published column totals stay true.
    With `fixed`, the partner rows' cells are used as they are (the hubs of a large table).
    """
    best = None
    for a in (1, -1):
        h11 = _hide(grid[r1][c1], kinds[r1][c1], a, k)
        if h11 is None:
            continue
        for r2 in partners:
            if c1 == m and not kinds[r2][m]:
                continue  # a group's size of 5 or more is always shown
            h21 = _hide(grid[r2][c1], kinds[r2][c1], -a, k)
            if h21 is None or fixed and h21[1] != kinds[r2][c1]:
                continue
            for c2 in range(m + 1):
                if c2 == c1 or c2 == m and not (kinds[r1][m] and kinds[r2][m]):
                    continue
                b = -a if c1 < m and c2 < m else a
                h12 = _hide(grid[r1][c2], kinds[r1][c2], b, k)
                if h12 is None:
                    continue
                h22 = _hide(grid[r2][c2], kinds[r2][c2], -b, k)
                if h22 is None or fixed and h22[1] != kinds[r2][c2]:
                    continue
                cost = h11[0] + h21[0] + h12[0] + h22[0]
                if best is None or cost < best[0]:
                    corners = (((r1, c1), h11), ((r2, c1), h21), ((r1, c2), h12), ((r2, c2), h22))
                    changes = [
                        (cell, h[1]) for cell, h in corners if h[1] != kinds[cell[0]][cell[1]]
                    ]
                    move = {(r1, c1): a, (r1, c2): b, (r2, c1): -a, (r2, c2): -b}
                    best = (cost, move, changes)
                    if cost == 0:
                        return move, changes
    return None if best is None else (best[1], best[2])


def audit_table(
    values: Sequence[Sequence[int]], table: Table, *, k: int | None = None
) -> list[str]:
    """Problems with a protected table (the rows it holds): a shown value that is wrong or
    small, or a hidden small value without a witness that keeps every published sum and every
    label true. Empty when safe."""
    k = k or threshold()
    grid = [[*row, sum(row)] for row in values]
    m = table.columns
    problems = []
    for r, figures in table.rows.items():
        for c, f in enumerate(figures):
            v = grid[r][c]
            if f.shown and (f.value != v or v < k):
                problems.append(f"({r}, {c}) shows {f.value}, truth {v}")
            if f.shown or not _sensitive(v, f.hidden, k):
                continue
            move = table.witnesses.get((r, c))
            if not move or not move.get((r, c)):
                problems.append(f"({r}, {c}) has no witness")
                continue
            problems += _check_move((r, c), move, grid, table, m, k)
    return problems


def _check_move(cell, move, grid, table, m, k) -> list[str]:
    problems = []
    rows, cols = {}, {}
    for (r, c), d in move.items():
        figures = table.rows.get(r)
        if figures is None or figures[c].shown or not _fits(grid[r][c], figures[c].hidden, d, k):
            problems.append(f"witness of {cell} moves ({r}, {c}) out of what it shows")
        rows[r] = rows.get(r, 0) + (d if c < m else -d)
        cols[c] = cols.get(c, 0) + d
    if any(rows.values()):
        problems.append(f"witness of {cell} breaks a row total")
    if any(cols.values()):
        problems.append(f"witness of {cell} breaks a column total")
    return problems
