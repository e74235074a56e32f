"""/privacy/: each section shows the signed-in person's own data and nobody else's, whoever
asks (another employee, their manager, HR), and the pages only read."""

import pytest

from consent.models import AccessLogEntry
from tests.conftest import make_person

pytestmark = pytest.mark.django_db

PAGES = [
    "/privacy/",
    "/privacy/proposals/",
    "/privacy/decisions/",
    "/privacy/receipts/",
    "/privacy/notifications/",
    "/privacy/access-log/",
    "/privacy/export.json",
]


@pytest.fixture
def eve_and_oscar(employee, outsider, hr_user, make_data):
    """Eve and Oscar both have two of everything; Oscar's were proposed and read by HR."""
    eve = make_data(employee, 2, tag="eve")
    oscar = make_data(outsider, 2, proposer=hr_user, readers=[hr_user], tag="oscar")
    return eve, oscar


def _everything(client) -> str:
    return "\n".join(client.get(url).content.decode() for url in PAGES)


def test_every_section_shows_the_persons_own_data(client, employee, eve_and_oscar):
    eve, _oscar = eve_and_oscar
    client.force_login(employee.user)
    pages = {url: client.get(url).content.decode() for url in PAGES}
    for purpose in eve.purposes:
        assert purpose.title in pages["/privacy/"]
    assert pages["/privacy/"].count("You allowed this") == len(eve.purposes)
    assert "Version 1 of this purpose." in pages["/privacy/"]
    for proposal in eve.proposals:
        assert f'href="/proposals/{proposal.pk}/"' in pages["/privacy/proposals/"]
    for record in eve.records:
        assert f'href="/receipts/{record.pk}/"' in pages["/privacy/decisions/"]
        assert f'href="/receipts/{record.pk}.json"' in pages["/privacy/receipts/"]
        assert f'href="/receipts/{record.pk}.jws"' in pages["/privacy/receipts/"]
    for reason in eve.reasons:  # her own private reasons, to her
        assert reason in pages["/privacy/decisions/"]
    assert "Your receipt: you opted out of joining Applied AI" in pages["/privacy/notifications/"]
    log = pages["/privacy/access-log/"]
    assert "eve audit 0" in log and "eve audit 1" in log
    assert "Your manager" in log and ">HR<" in log
    assert "API client (key “AI telemetry collector”)" in log and "api:consent-check" in log
    assert log.count("You downloaded all your data on") == len(eve.exports)
    for check in eve.checks:  # a collector's checks, per purpose and day, with their count
        assert (
            f"{check.purpose_slug}, version 1" in log
            and f'<td data-label="Checks">{check.checks}</td>' in log
        )


def test_nothing_of_another_person_shows_on_any_section(client, employee, eve_and_oscar):
    client.force_login(employee.user)
    everything = _everything(client)
    assert "oscar" not in everything.lower()


@pytest.fixture
def colleague(platform, manager):
    """Another employee on Eve's team, with nothing of their own yet."""
    return make_person("cole@example.test", "Cole Colleague", platform, manager=manager)


@pytest.mark.parametrize("who", ["manager", "hr_user", "colleague"])
def test_the_manager_hr_and_a_colleague_see_only_their_own(client, request, who, eve_and_oscar):
    eve, _oscar = eve_and_oscar
    viewer = request.getfixturevalue(who)
    client.force_login(getattr(viewer, "user", viewer))
    everything = _everything(client)
    assert all(status == 200 for status in [client.get(url).status_code for url in PAGES])
    assert "You allowed this" not in everything and "eve audit" not in everything
    assert not any(f"{c.purpose_slug}, version 1" in everything for c in eve.checks)
    assert not any(reason in everything for reason in eve.reasons)
    for proposal in eve.proposals:
        assert f"/proposals/{proposal.pk}/" not in everything
    for record in eve.records:  # her receipts are not theirs to open either
        assert client.get(f"/receipts/{record.pk}/").status_code == 404
        assert client.get(f"/receipts/{record.pk}.json").status_code == 404
        assert client.get(f"/receipts/{record.pk}.jws").status_code == 404


def test_no_address_names_another_person(client, manager, employee, eve_and_oscar):
    # Query strings are not a way in: every section reads the signed-in person only.
    client.force_login(manager.user)
    for url in PAGES:
        page = client.get(f"{url}?subject={employee.user.pk}&user={employee.user.pk}")
        assert "eve audit" not in page.content.decode()


def test_reading_ones_own_centre_writes_nothing_to_the_access_log(client, employee, eve_and_oscar):
    before = AccessLogEntry.objects.count()
    client.force_login(employee.user)
    for url in PAGES[:-1]:
        client.get(url)
    assert AccessLogEntry.objects.count() == before


@pytest.mark.parametrize("url", PAGES)
def test_the_pages_answer_only_get(client, employee, url):
    client.force_login(employee.user)
    assert client.post(url).status_code == 405
    assert client.put(url).status_code == 405
    assert client.delete(url).status_code == 405


@pytest.mark.parametrize("url", PAGES)
def test_signed_out_visitors_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_someone_without_an_employee_record_gets_an_explanation(client, hr_user):
    client.force_login(hr_user)
    page = client.get("/privacy/").content.decode()
    assert "not linked to an employee record" in page


def test_every_signed_in_person_finds_the_centre_in_the_navigation(
    client, employee, manager, hr_user
):
    for user, landing in ((employee.user, "/inbox/"), (manager.user, "/inbox/"), (hr_user, "/")):
        client.force_login(user)
        nav = client.get(landing, follow=True).content.decode()
        nav = nav[nav.index('class="site-nav"') :]
        assert '<a href="/privacy/"' in nav[: nav.index("</nav>")]


def test_the_data_use_choices_keep_their_own_page_and_decision_routes(client, employee):
    client.force_login(employee.user)
    page = client.get("/privacy/purposes/")
    assert page.status_code == 200 and "Back to my privacy centre" in page.content.decode()
    assert client.get("/privacy/purposes/nothing/opt-in/").status_code == 404
