"""The dashboard pages: who may open them, what they count, what they never show."""

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assignments.models import Proposal
from assignments.services import opt_out
from people.models import Team
from reports import selectors
from reports.permissions import HR_NAMESPACE, Scope
from tests.conftest import WEB, make_person
from tests.reports.conftest import add_people

pytestmark = pytest.mark.django_db

EVERY_CATEGORY = [
    ("pending", 6),
    ("opted_in", 5),
    ("effective", 7),
    ("undrafted", 2),
    ("opted_out", 8),
    ("expired", 5),
    ("no_consent", 1),
    ("withdrawn", 3),
]


@pytest.fixture
def filled(campaign, destination, platform, payments):
    add_people(
        campaign,
        destination,
        [
            (platform, "Senior Software Engineer", "opted_in", 5),
            (platform, "Software Engineer", "opted_out", 7),
            (platform, "Software Engineer", "pending", 5),
            (payments, "Staff Engineer", "expired", 6),
            (payments, "Software Engineer", "withdrawn", 2),
            (payments, "Software Engineer", "undrafted", 1),
            (payments, "Software Engineer", "effective", 8),
        ],
    )
    return campaign


def text(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return re.sub(r"\s+", " ", body.decode())


def test_every_proposal_falls_in_exactly_one_category(campaign, destination, platform):
    rows = [(platform, "Software Engineer", outcome, n) for outcome, n in EVERY_CATEGORY]
    add_people(campaign, destination, rows)
    # A retroactive confirmation that expired but was confirmed by a later one: not "no
    # consent on record", just expired.
    later = add_people(campaign, destination, [(platform, "Software Engineer", "no_consent")])[0]
    Proposal.objects.create(
        **{
            f.name: getattr(later, f.name)
            for f in Proposal._meta.fields
            if f.name not in ("id", "state", "terms_sha256", "campaign")
        },
        state=Proposal.State.EFFECTIVE,
        terms_sha256="f" * 64,
    )

    data = selectors.campaign_breakdowns(Scope(HR_NAMESPACE), campaign.pk)

    expected = dict(EVERY_CATEGORY)
    expected["expired"] += 1
    assert dict(zip(selectors.CATEGORIES, data.totals, strict=True)) == expected
    assert data.retroactive == 2
    assert data.decided == 5 + 7 + 2 + 8  # opted in, in effect (undrafted too), opted out


def test_hr_sees_every_figure_of_five_or_more_and_none_under_five(hr_client, filled):
    page = text(hr_client.get(f"/hr/dashboards/campaigns/{filled.pk}/"))

    assert "Invited</dt><dd>34</dd>" in page
    assert "Waiting for an answer</th><td>5</td>" in page
    assert "Moved (in effect)</th><td>8</td>" in page
    # Withdrawn (2) and undrafted (1) are under 5: "<5", never the number.
    assert re.search(r"Undrafted</th><td><span aria-hidden=\"true\">&lt;5", page)
    assert re.search(r"Withdrawn by the proposer</th><td><span aria-hidden=\"true\">&lt;5", page)
    # No retroactive confirmation in this campaign: "no consent on record" does not apply.
    assert 'No consent on record</th><td><span class="meta">does not apply' in page


def test_a_managers_dashboard_counts_only_their_own_reports(
    manager_client, manager, campaign, destination, platform, payments
):
    add_people(
        campaign, destination, [(platform, "Software Engineer", "opted_out", 6)], manager=manager
    )
    add_people(campaign, destination, [(payments, "Software Engineer", "opted_in", 9)])

    page = text(manager_client.get(f"/team/dashboards/campaigns/{campaign.pk}/"))

    assert "Invited</dt><dd>6</dd>" in page
    assert "Your direct reports only." in page
    assert 'Opted in, not moved yet</th><td><span aria-hidden="true">&lt;5' in page


def test_a_manager_gets_a_404_for_a_campaign_none_of_their_reports_are_in(
    manager_client, manager, employee, campaign, destination, payments
):
    add_people(campaign, destination, [(payments, "Software Engineer", "opted_in", 9)])
    assert manager_client.get(f"/team/dashboards/campaigns/{campaign.pk}/").status_code == 404
    assert (
        manager_client.get(f"/team/dashboards/campaigns/{campaign.pk}/export.csv").status_code
        == 404
    )


def test_hr_gets_a_404_for_a_campaign_that_does_not_exist(hr_client):
    assert hr_client.get("/hr/dashboards/campaigns/999999/").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/hr/dashboards/",
        "/hr/dashboards/export.csv",
        "/hr/dashboards/campaigns/{pk}/",
        "/hr/dashboards/campaigns/{pk}/export.csv",
        "/hr/dashboards/campaigns/{pk}/people/?purpose=curious",
        "/hr/dashboards/no-adverse-consequence/",
    ],
)
def test_only_hr_opens_the_hr_dashboards(client, employee, manager, filled, path):
    path = path.format(pk=filled.pk)
    for person in (employee, manager):
        client.force_login(person.user)
        assert client.get(path).status_code == 403
    client.logout()
    assert client.get(path).status_code == 302  # to the sign-in page


def test_only_managers_open_the_team_dashboards(client, employee, outsider, filled):
    make_person("rei@example.test", "Rei Report", employee.team, manager=employee)  # Eve manages
    client.force_login(outsider.user)
    assert client.get("/team/dashboards/").status_code == 403
    client.force_login(employee.user)
    assert client.get("/team/dashboards/").status_code == 200


def test_naming_people_is_for_hr_only_even_for_a_manager(
    manager_client, manager, employee, campaign, destination, platform
):
    add_people(
        campaign, destination, [(platform, "Software Engineer", "opted_out", 6)], manager=manager
    )
    assert manager_client.get(f"/team/dashboards/campaigns/{campaign.pk}/").status_code == 200
    path = f"/team/dashboards/campaigns/{campaign.pk}/people/?purpose=curious"
    response = manager_client.get(path)
    assert response.status_code == 403
    assert b"Person " not in response.content


def test_the_team_and_level_breakdowns_never_show_a_count_under_five(hr_client, filled):
    page = text(hr_client.get(f"/hr/dashboards/campaigns/{filled.pk}/"))
    for table in re.findall(r'<table class="stack">.*?</table>', page):
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", table):
            number = re.sub(r"<[^>]+>", "", cell).replace(",", "").strip()
            if number.isdigit():
                assert int(number) >= 5, f"a cell shows {number}"


def test_a_filter_on_a_group_under_five_is_refused(hr_client, filled, destination):
    tiny = Team.objects.create(name="Tiny", slug="tiny")
    add_people(filled, destination, [(tiny, "Software Engineer", "opted_out", 3)])
    page = text(hr_client.get(f"/hr/dashboards/campaigns/{filled.pk}/?team={tiny.pk}"))
    assert "Fewer than 5 people in this group" in page
    assert "Invited</dt>" not in page


def test_a_filter_shows_its_row_of_the_breakdown_exactly(hr_client, filled, platform):
    whole = text(hr_client.get(f"/hr/dashboards/campaigns/{filled.pk}/"))
    row = re.search(rf'<a href="\?team={platform.pk}">Platform</a></th>(.*?)</tr>', whole).group(1)
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]

    filtered = text(hr_client.get(f"/hr/dashboards/campaigns/{filled.pk}/?team={platform.pk}"))
    summary = re.search(r'id="summary-caption".*?</table>', filtered).group(0)
    shown = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td>(.*?)</td>", summary)]
    assert "Invited</dt><dd>17</dd>" in filtered
    assert shown == cells[1:]  # the same figures, hidden ones hidden the same way


def test_the_csv_has_the_same_figures_with_the_same_suppression(hr_client, filled, platform):
    response = hr_client.get(f"/hr/dashboards/campaigns/{filled.pk}/export.csv")
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    by_key = {(r[0], r[1], r[2]): r[3] for r in rows[1:] if len(r) == 4}

    assert by_key[("summary", "Everyone", "Invited")] == "34"
    assert by_key[("summary", "Everyone", "Undrafted")] == "<5"
    assert by_key[("team", "Platform", "Invited")] == "17"
    for value in by_key.values():
        assert not (value.isdigit() and int(value) < 5)


def test_a_team_name_cannot_become_a_spreadsheet_formula(hr_client, campaign, destination):
    evil = Team.objects.create(name='=HYPERLINK("http://x")', slug="evil")
    add_people(campaign, destination, [(evil, "Software Engineer", "opted_out", 6)])
    add_people(
        campaign, destination, [(Team.objects.create(name="Ok", slug="ok"), "SE", "pending", 6)]
    )
    body = text(hr_client.get(f"/hr/dashboards/campaigns/{campaign.pk}/export.csv"))
    assert "'=HYPERLINK" in body


def test_the_overview_lists_each_campaign_suppressed_like_its_own_page(hr_client, filled, hr_user):
    page = text(hr_client.get("/hr/dashboards/"))
    assert f'<a href="/hr/dashboards/campaigns/{filled.pk}/">{filled.name}</a>' in page
    assert 'data-label="Invited">34</td>' in page
    assert 'data-label="Undrafted"><span aria-hidden="true">&lt;5' in page


def test_a_campaign_under_five_people_shows_nothing(hr_client, campaign, destination, platform):
    add_people(campaign, destination, [(platform, "Software Engineer", "opted_out", 4)])
    page = text(hr_client.get(f"/hr/dashboards/campaigns/{campaign.pk}/"))
    assert "none of its figures are shown" in page
    overview = text(hr_client.get("/hr/dashboards/"))
    assert "fewer than 5 people: nothing shown" in overview


def test_private_reasons_never_reach_a_dashboard_nor_its_queries(
    hr_client, employee, proposal, filled
):
    reason = "My manager pressured me"
    proposal.campaign = filled
    proposal.save(update_fields=["campaign"])
    opt_out(proposal=proposal, actor=employee.user, context=WEB, private_reason=reason)

    paths = [
        f"/hr/dashboards/campaigns/{filled.pk}/",
        f"/hr/dashboards/campaigns/{filled.pk}/export.csv",
        f"/hr/dashboards/campaigns/{filled.pk}/people/?purpose=audit&category=opted_out",
        "/hr/dashboards/no-adverse-consequence/",
    ]
    with CaptureQueriesContext(connection) as queries:
        bodies = [text(hr_client.get(path)) for path in paths]
    assert all(reason not in body for body in bodies)
    assert "Eve Employee" in bodies[2]  # the drill-down names her, with her decision only
    assert not [q["sql"] for q in queries if "reason_ciphertext" in q["sql"]]
    assert not [q["sql"] for q in queries if "consent_subjectkey" in q["sql"]]
    assert not [q["sql"] for q in queries if "consent_consentrecord" in q["sql"]]


def test_the_no_adverse_consequence_page_compares_no_with_yes(
    hr_client, campaign, destination, platform
):
    add_people(campaign, destination, [(platform, "Software Engineer", "opted_out", 6)])
    add_people(campaign, destination, [(platform, "Software Engineer", "opted_in", 7)])
    page = text(hr_client.get("/hr/dashboards/no-adverse-consequence/"))
    assert 'Said no (opted out or undrafted)</th> <td data-label="People">6</td>' in page
    assert 'Said yes (opted in)</th> <td data-label="People">7</td>' in page
    assert "does not apply" in page  # placement columns for people who said yes


def test_the_page_works_without_javascript_and_loads_the_charts_from_static(hr_client, filled):
    page = text(hr_client.get(f"/hr/dashboards/campaigns/{filled.pk}/"))
    assert '<script id="dashboard-charts" type="application/json">' in page
    assert '<script src="/static/vendor/chart.js-4.6.1.umd.min.js" defer></script>' in page
    assert '<script src="/static/js/reports.js" defer></script>' in page
    # No inline script: a Content Security Policy can forbid it.
    assert not re.search(r"<script(?![^>]*(src=|application/json))[^>]*>", page)
    assert '<caption id="funnel-caption">' in page  # the chart's numbers, as a table
