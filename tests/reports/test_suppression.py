"""reports.suppression: no count under the threshold is shown, and none can be worked out.

Three independent checks over random tables (hypothesis):

- the witness audit: every hidden small value has a recorded change that keeps every
  published number and every label true (reports.suppression.audit_line / audit_table);
- a subtracting attacker, written here without the module's help: it knows every shown cell,
  what each label admits ("<5": 0..4, "hidden": 5 or more, "withheld": anything) and every
  row and column total, and narrows each hidden cell by subtracting the others from each
  total it is part of, over and over, until nothing changes. It must never narrow a hidden
  small cell to a single value;
- for tables small enough, every table consistent with what is shown is enumerated, and
  each hidden small cell must take at least two values among them.
"""

import itertools

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reports import suppression
from reports.suppression import (
    COMPLEMENT,
    SMALL,
    SMALL_TABLE_ROWS,
    WITHHELD,
    audit_line,
    audit_table,
    protect_line,
    protect_table,
)

K = 5
BIG = 10**6
# Mostly small counts, zeros included, with some large ones: where suppression is hard.
count = st.one_of(st.integers(0, 6), st.integers(0, 30), st.sampled_from([0, 0, 1, 4, 5]))


def label_bounds(figure):
    if figure.shown:
        return figure.value, figure.value
    return {SMALL: (0, K - 1), COMPLEMENT: (K, BIG), WITHHELD: (0, BIG)}[figure.hidden]


def subtract(box: dict, equations: list) -> dict:
    """Narrow each unknown by subtraction: for sum(coefficient * x) = constant, each x lies
    within constant minus the extreme values of the others. Repeated until stable."""
    changed = True
    while changed:
        changed = False
        for terms, constant in equations:
            for i, (ci, xi) in enumerate(terms):
                others = [t for j, t in enumerate(terms) if j != i]
                low = sum(c * (box[x][0] if c > 0 else box[x][1]) for c, x in others)
                high = sum(c * (box[x][1] if c > 0 else box[x][0]) for c, x in others)
                lo, hi = constant - high, constant - low
                if ci < 0:
                    lo, hi = -hi, -lo
                new = (max(box[xi][0], lo), min(box[xi][1], hi))
                if new != box[xi]:
                    box[xi] = new
                    changed = True
    return box


def sensitive(value, figure):
    return not figure.shown and value < K


# --- one line: parts and their total ---------------------------------------------------------


lines = st.lists(count, min_size=1, max_size=9)


@settings(max_examples=600, deadline=None)
@given(lines)
@example([0, 0, 5])  # 5 cannot drop below 5 and zeros cannot drop: the 5 is withheld
@example([4, 4])  # two hidden 4s that must add up to 8 would both be known
@example([0, 0, 12])  # two hidden zeros that must add up to 0 would both be known
@example([3])  # a total under 5: everything hidden
def test_a_line_hides_every_small_part_behind_a_witness(values):
    line = protect_line(values, k=K)

    assert audit_line(values, line, k=K) == []
    for value, figure in zip([*values, sum(values)], [*line.parts, line.total], strict=True):
        assert figure.shown == (figure.value is not None)
        if figure.shown:
            assert figure.value == value >= K


@settings(max_examples=600, deadline=None)
@given(lines)
@example([0, 0, 5])
@example([4, 4])
@example([2, 40])
def test_no_hidden_part_of_a_line_can_be_worked_out_from_its_total(values):
    line = protect_line(values, k=K)
    figures = [*line.parts, line.total]
    n = len(values)
    box = {i: label_bounds(f) for i, f in enumerate(figures)}
    # One equation: the parts add up to the total. With integer boxes, subtraction is exact.
    box = subtract(box, [([*[(1, i) for i in range(n)], (-1, n)], 0)])

    truth = [*values, sum(values)]
    for i, figure in enumerate(figures):
        low, high = box[i]
        assert low <= truth[i] <= high
        if sensitive(truth[i], figure):
            assert low < high, f"position {i} of {values} is worked out as {low}"


def test_a_small_total_hides_everything():
    line = protect_line([1, 2], k=K)
    assert [f.label for f in line.parts] == ["<5", "<5"]
    assert line.total.label == "<5"


def test_a_line_with_one_small_part_hides_a_second_one():
    line = protect_line([40, 3, 20], k=K)
    labels = [f.label for f in line.parts]
    assert labels[1] == "<5"
    assert labels.count("hidden") == 1  # the smaller large part: 20
    assert labels[2] == "hidden" and labels[0] == "40"
    assert line.total.label == "63"


def test_the_threshold_comes_from_settings(settings):
    settings.PORTAL_SUPPRESS_BELOW = 7
    line = protect_line([6, 30, 30])
    assert line.parts[0].label == "<7"
    assert suppression.threshold() == 7


# --- tables ----------------------------------------------------------------------------------


@st.composite
def tables(draw, max_rows=12, max_columns=5, large_rows=False):
    columns = draw(st.integers(1, max_columns))
    rows = draw(st.integers(2, max_rows))
    cells = [[draw(count) for _ in range(columns)] for _ in range(rows)]
    if large_rows:  # the dashboards combine groups under 5 first: every row total is 5+
        cells = [row for row in cells if sum(row) >= K]
    keep = [c for c in range(columns) if sum(row[c] for row in cells)]
    cells = [[row[c] for c in keep] for row in cells]
    if len(cells) < 2 or not keep:
        return [[5, 0], [0, 5]]
    return cells


def attack(values, table) -> dict:
    """The subtracting attacker on a whole table whose column totals are published."""
    grid = [[*row, sum(row)] for row in values]
    m = table.columns
    box = {(r, c): label_bounds(f) for r, fs in table.rows.items() for c, f in enumerate(fs)}
    equations = [([*[(1, (r, c)) for c in range(m)], (-1, (r, m))], 0) for r in table.rows]
    for c in range(m + 1):
        equations.append(([(1, (r, c)) for r in table.rows], sum(row[c] for row in grid)))
    box = subtract(box, equations)
    for (r, c), (low, high) in box.items():
        assert low <= grid[r][c] <= high
    return box


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
@example([[5, 3, 6], [0, 6, 4]])  # a hidden 5 over a zero must not be read as "5 or more"
@example([[0, 0, 9, 5], [1, 5, 4, 5]])
@example([[3, 0], [2, 7]])
def test_a_table_hides_every_small_cell_behind_a_witness(values):
    table = protect_table(values, k=K)

    assert audit_table(values, table, k=K) == []
    grid = [[*row, sum(row)] for row in values]
    for r, figures in table.rows.items():
        for c, figure in enumerate(figures):
            if figure.shown:
                assert figure.value == grid[r][c] >= K


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
@example([[20, 5], [5, 0], [0, 0]])
@example([[4, 0, 3, 4], [1, 5, 4, 9]])
def test_no_hidden_cell_can_be_recovered_from_row_or_column_totals(values):
    table = protect_table(values, k=K)
    box = attack(values, table)

    grid = [[*row, sum(row)] for row in values]
    for (r, c), (low, high) in box.items():
        if sensitive(grid[r][c], table.rows[r][c]):
            assert low < high, f"cell ({r}, {c}) of {values} is worked out as {low}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(max_rows=40, max_columns=6, large_rows=True))
def test_large_tables_of_groups_of_five_or_more_are_never_withheld_and_never_leak(values):
    table = protect_table(values, k=K)

    assert not table.withheld
    assert audit_table(values, table, k=K) == []
    box = attack(values, table)
    grid = [[*row, sum(row)] for row in values]
    for (r, c), (low, high) in box.items():
        assert not sensitive(grid[r][c], table.rows[r][c]) or low < high
    # A group's size of 5 or more is always shown.
    assert all(figures[-1].shown for figures in table.rows.values())


def consistent_tables(values, table):
    """Every table of non-negative integers that agrees with everything shown: the cells
    shown, the labels, the row totals shown and the (published) column totals."""
    grid = [[*row, sum(row)] for row in values]
    m = table.columns
    column_totals = [sum(row[c] for row in grid) for c in range(m + 1)]
    options = []
    for r in range(len(values)):
        figures = table.rows[r]
        ranges = []
        for c in range(m):
            low, high = label_bounds(figures[c])
            ranges.append(range(low, min(high, column_totals[c]) + 1))
        low, high = label_bounds(figures[m])
        options.append([cells for cells in itertools.product(*ranges) if low <= sum(cells) <= high])
    for rows in itertools.product(*options):
        if all(sum(row[c] for row in rows) == column_totals[c] for c in range(m)):
            yield rows


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(max_rows=3, max_columns=2).filter(lambda t: sum(map(sum, t)) <= 20))
@example([[3, 0], [2, 7]])
@example([[4, 1], [1, 6]])
def test_in_tiny_tables_every_hidden_small_cell_could_be_something_else(values):
    table = protect_table(values, k=K)
    seen: dict = {}
    for rows in consistent_tables(values, table):
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                seen.setdefault((r, c), set()).add(v)
            seen.setdefault((r, table.columns), set()).add(sum(row))

    for r, figures in table.rows.items():
        for c, figure in enumerate(figures):
            truth = [*values[r], sum(values[r])][c]
            assert truth in seen[(r, c)]
            if sensitive(truth, figure):
                assert len(seen[(r, c)]) >= 2, f"cell ({r}, {c}) of {values} is known"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(max_rows=30, max_columns=6), st.data())
def test_a_page_of_a_large_table_shows_exactly_what_the_whole_table_shows(values, data):
    if len(values) <= SMALL_TABLE_ROWS:
        return
    page = data.draw(st.lists(st.integers(0, len(values) - 1), max_size=6, unique=True))
    whole = protect_table(values, k=K)
    part = protect_table(values, rows=page, k=K)

    # A page, the CSV of every row and a filter on one row show each row the same way.
    for r in page:
        assert part.rows[r] == whole.rows[r]
    assert audit_table(values, part, k=K) == []


def test_a_table_of_one_row_is_refused():
    with pytest.raises(ValueError, match="one row"):
        protect_table([[3, 4]], k=K)


def test_a_column_of_zeros_is_refused():
    with pytest.raises(ValueError, match="adds up to 0"):
        protect_table([[3, 0], [4, 0]], k=K)


def test_a_team_with_one_small_cell_hides_a_second_cell_in_its_row_and_its_column():
    values = [[40, 3, 20], [30, 25, 10], [50, 20, 30]]
    table = protect_table(values, k=K)

    hidden = {(r, c) for r, fs in table.rows.items() for c, f in enumerate(fs) if f.hidden}
    assert (0, 1) in hidden
    assert sum(1 for r, c in hidden if r == 0) >= 2
    assert sum(1 for r, c in hidden if c == 1) >= 2
    assert all(table.rows[r][3].shown for r in range(3))  # group sizes stay
