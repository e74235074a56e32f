"""The data-use purpose dashboards: per purpose (current version) and team, allowed, said no,
no answer, lapsed; suppressed below 5 like every dashboard (also against subtraction), the CSV
the same, no names anywhere, a manager sees their reports only, constant queries."""

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datause import services
from people.models import Team
from reports import purposes
from reports.purposes import CATEGORIES
from tests.conftest import WEB, make_person
from tests.datause.conftest import make_purpose
from tests.reports.test_query_counts import BEFORE, BELL
from tests.reports.test_suppression import K, label_bounds, subtract

pytestmark = pytest.mark.django_db


def decide(purpose, person, outcome, *, long_ago=False):
    """Record one person's answer through the services (the only writers of choices)."""
    if outcome == "not_answered":
        return
    kwargs = {"purpose": purpose, "actor": person.user, "terms_sha256": purpose.terms_sha256,
              "context": WEB}  # fmt: skip
    if outcome == "refused":
        services.opt_out(**kwargs)
        return
    if outcome == "lapsed":
        with time_machine.travel(timezone.now() - timedelta(days=400), tick=False):
            services.opt_in(**kwargs)
        return
    services.opt_in(**kwargs)


POPULATION = [  # team, outcome, how many
    ("Platform", "allowed", 6), ("Platform", "refused", 1), ("Platform", "not_answered", 3),
    ("Payments", "allowed", 2), ("Payments", "refused", 5), ("Payments", "lapsed", 1),
    ("Tiny", "allowed", 1), ("Tiny", "not_answered", 1),
]  # fmt: skip


@pytest.fixture
def population(manager, platform, payments):
    """20 people: Platform's 10 report to Morgan; "Tiny" has 2, under the limit."""
    teams = {"Platform": platform, "Payments": payments,
             "Tiny": Team.objects.create(name="Tiny", slug="tiny")}  # fmt: skip
    purpose = make_purpose(manager, slug="keystrokes")
    manager.is_active = False  # the owner is not one of the counted people
    manager.save(update_fields=["is_active"])
    people = []
    for n, (team, outcome, count) in enumerate(POPULATION):
        for i in range(count):
            person = make_person(
                f"p{n}-{i}@x.test", f"Person {n}-{i}", teams[team],
                manager=manager if team == "Platform" else None,
            )  # fmt: skip
            decide(purpose, person, outcome)
            people.append(person)
    return purpose, people


def by_label(figures) -> dict:
    return {str(column.label): figure for column, figure in figures.categories}


def test_hr_sees_each_category_with_small_ones_suppressed(hr_client, population):
    purpose, _people = population
    page = hr_client.get("/hr/dashboards/purposes/keystrokes/").content.decode()
    assert "Keystroke capture for model training" in page
    figures = purposes.purpose_dashboard(purposes.Scope("hr_dashboards"), purpose)
    labels = by_label(figures)
    assert figures.people.value == 20
    assert labels["Allowed"].value == 9 and labels["Said no"].value == 6
    assert labels["Not asked or no answer yet"].label == "<5"
    assert labels["Lapsed"].label == "<5"
    # Tiny (2 people) is never a row of its own; every shown cell is 5 or more.
    rows = {row.label: row for row in figures.teams.rows}
    assert "Tiny" not in rows and any(label.startswith("Smaller teams") for label in rows)
    for row in figures.teams.rows:
        for figure in (row.total, *row.figures):
            assert not figure.shown or figure.value >= K


def test_nobody_is_named_on_any_purpose_dashboard_or_in_its_csv(hr_client, population):
    _purpose, people = population
    for path in ("/hr/dashboards/purposes/", "/hr/dashboards/purposes/keystrokes/"):
        page = hr_client.get(path).content.decode()
        assert not any(p.name in page or p.email in page for p in people), path
        assert "/people/" not in page  # no drill-down of any kind
    body = b"".join(hr_client.get("/hr/dashboards/purposes/export.csv").streaming_content)
    assert not any(p.name.encode() in body for p in people)


def test_the_csv_shows_exactly_what_the_page_shows(hr_client, population):
    purpose, _people = population
    response = hr_client.get("/hr/dashboards/purposes/export.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    figures = purposes.purpose_dashboard(purposes.Scope("hr_dashboards"), purpose, team_page=None)
    everyone = {measure: value for _s, _v, group, measure, value in rows[1:] if group == "Everyone"}
    assert everyone == {"People": "20", **{label: f.label for label, f in figures.cells}}
    for row in figures.teams.rows:
        cells = {m: v for _s, _v, group, m, v in rows[1:] if group == row.label}
        assert cells == {
            "People": row.total.label,
            **{c.label: f.label for c, f in zip(figures.teams.columns, row.figures, strict=True)},
        }
    values = [value for *_rest, value in rows[1:]]
    assert "1" not in values and "2" not in values and "3" not in values and "4" not in values


def test_a_manager_sees_only_their_reports_and_an_employee_nothing(client, population, employee):
    purpose, _people = population
    manager = purpose.owner
    manager.is_active = True
    manager.save(update_fields=["is_active"])
    client.force_login(manager.user)
    assert client.get("/team/dashboards/purposes/keystrokes/").status_code == 200
    figures = purposes.purpose_dashboard(purposes.Scope("team_dashboards", manager.pk), purpose)
    assert figures.people.value == 11  # Platform's 10, and Eve
    assert client.get("/hr/dashboards/purposes/").status_code == 403
    client.force_login(employee.user)  # no reports: neither HR nor a manager
    for path in (
        "/hr/dashboards/purposes/",
        "/team/dashboards/purposes/",
        "/hr/dashboards/purposes/export.csv",
        "/team/dashboards/purposes/keystrokes/",
    ):
        assert client.get(path).status_code == 403, path  # fmt: skip


def test_a_new_version_counts_nobody_as_allowed_until_they_decide_again(hr_client, population):
    purpose, people = population
    v2 = services.publish_purpose(
        purpose=services.draft_next_version(purpose=purpose), actor=purpose.owner.user
    )
    scope = purposes.Scope("hr_dashboards")
    counts = purposes.purpose_counts(scope, [v2], timezone.now())[v2.about_id]
    assert [sum(c[n] for _name, c in counts.values()) for n in range(4)] == [0, 0, 20, 0]
    labels = by_label(purposes.purpose_dashboard(scope, v2))
    # Three zeros read "<5"; 20 must hide too, or the zeros could be worked out from it.
    assert labels["Allowed"].label == "<5" and labels["Said no"].label == "<5"
    assert not labels["Not asked or no answer yet"].shown
    page = hr_client.get("/hr/dashboards/purposes/").content.decode()
    assert "version 2" in page


def test_the_pages_take_the_same_queries_for_few_and_for_many_people(hr_client, manager):
    purpose = make_purpose(manager, slug="keystrokes")
    other = Team.objects.create(name="Other", slug="other")
    paths = ["/hr/dashboards/purposes/", "/hr/dashboards/purposes/keystrokes/",
             "/hr/dashboards/purposes/export.csv"]  # fmt: skip

    def counted():
        result = []
        for path in paths:
            with CaptureQueriesContext(connection) as queries:
                response = hr_client.get(path)
                assert response.status_code == 200
                if response.streaming:
                    b"".join(response.streaming_content)
            result.append(len(queries))
        return result

    for n in range(6):
        decide(purpose, make_person(f"a{n}@x.test", f"A {n}", manager.team), "allowed")
    few = counted()
    for n in range(30):
        team = other if n % 2 else manager.team
        decide(purpose, make_person(f"b{n}@x.test", f"B {n}", team), CATEGORIES[n % 4])
    make_purpose(manager, slug="second")
    # BEFORE, the current purposes, the one statement of counts, BELL (no bell in a CSV).
    assert counted() == few == [BEFORE + 2 + BELL, BEFORE + 2 + BELL, BEFORE + 2]


# --- suppression holds against subtraction, for any population (no database) ---------------------

count = st.one_of(st.integers(0, 6), st.integers(0, 30), st.sampled_from([0, 0, 1, 4, 5]))
populations = st.dictionaries(
    st.sampled_from([str(n) for n in range(7)]),
    st.lists(count, min_size=4, max_size=4),
    min_size=1,
    max_size=7,
)


def attack(teams: dict, figures) -> list[str]:
    """Everything a reader can work out from the page by subtraction: the headline adds up to
    the people; each team row to its size; each column of the team table to the headline's
    published figure, and the "other" column to the headline's hidden ones together."""
    truth = [sum(v[c] for v in teams.values()) for c in range(4)]
    unknowns, values, equations = {}, {}, []
    parts = []
    for c, (_column, figure) in enumerate(figures.categories):
        unknowns[("h", c)], values[("h", c)] = label_bounds(figure), truth[c]
        parts.append((1, ("h", c)))
    equations.append((parts, sum(truth)))
    if figures.teams is not None and figures.teams.rows:
        hidden = [c for c, (_col, f) in enumerate(figures.categories) if not f.shown]
        published = [c for c, (_col, f) in enumerate(figures.categories) if f.shown]
        shown_rows = {row.key for row in figures.teams.rows if row.key in teams}
        rest = [t for t in teams if t not in shown_rows]
        columns = figures.teams.columns
        for row in figures.teams.rows:
            members = [row.key] if row.key in teams else rest
            counts = [sum(teams[t][c] for t in members) for c in range(4)]
            projected = [counts[c] for c in published] + (
                [sum(counts[c] for c in hidden)] if len(columns) > len(published) else []
            )
            cells = []
            for n, figure in enumerate(row.figures):
                unknowns[(row.key, n)], values[(row.key, n)] = label_bounds(figure), projected[n]
                cells.append((1, (row.key, n)))
            equations.append((cells, sum(projected)))
        for n in range(len(columns)):
            column_cells = [(1, (row.key, n)) for row in figures.teams.rows]
            if n < len(published):
                equations.append((column_cells, truth[published[n]]))
            else:
                equations.append((column_cells + [(-1, ("h", c)) for c in hidden], 0))
    box = subtract(dict(unknowns), equations)
    leaks = []
    for key, (low, high) in box.items():
        assert low <= values[key] <= high, (key, low, high, values[key])
        if low == high and values[key] < K and unknowns[key] != (values[key], values[key]):
            leaks.append(f"{key} worked out as {low}")
    return leaks


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(populations)
def test_no_hidden_small_count_can_be_worked_out_from_a_purpose_page(teams):
    groups = {team: (f"Team {team}", values) for team, values in teams.items()}
    figures = purposes._figures(None, groups, with_teams=True, team_page=None)
    if figures.too_few:
        assert sum(map(sum, teams.values())) < K
        return
    for _column, figure in figures.categories:
        assert not figure.shown or figure.value >= K
    assert attack(teams, figures) == []
