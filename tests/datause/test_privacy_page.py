"""/privacy/: every purpose, one action each way with equal weight, a confirmation without JS,
receipts; and nobody else's choice is shown."""

import re

import pytest

from consent.models import ConsentRecord

pytestmark = pytest.mark.django_db


def test_the_page_lists_every_purpose_with_two_equal_choices(client, purpose, eve):
    client.force_login(eve.user)
    page = client.get("/privacy/").content.decode()
    assert purpose.title in page
    assert "Everyone starts at no" in page
    choices = page[page.index("decision-choices") :]
    buttons = re.findall(r"<button type=\"submit\" class=\"([^\"]+)\">([^<]+)</button>", choices)
    assert buttons == [("button choice", "Allow"), ("button choice", "Do not allow")]


def test_allowing_takes_a_confirmation_then_one_post_and_shows_the_receipt(client, purpose, eve):
    client.force_login(eve.user)
    confirm = client.get(f"/privacy/purposes/{purpose.slug}/opt-in/")
    assert confirm.status_code == 200
    assert purpose.terms_sha256 in confirm.content.decode()
    assert not ConsentRecord.objects.exists()  # the GET records nothing
    response = client.post(
        f"/privacy/purposes/{purpose.slug}/opt-in/", {"terms_sha256": purpose.terms_sha256}
    )
    record = ConsentRecord.objects.get(about_kind="data_use")
    assert response.status_code == 302 and response.url == f"/receipts/{record.pk}/"
    receipt = client.get(response.url)
    assert receipt.status_code == 200
    page = client.get("/privacy/").content.decode()
    assert "You allowed this" in page and f"/receipts/{record.pk}/" in page
    # Saying no is the same one step.
    client.post(
        f"/privacy/purposes/{purpose.slug}/opt-out/", {"terms_sha256": purpose.terms_sha256}
    )
    assert "You said no" in client.get("/privacy/").content.decode()


def test_nobody_sees_another_persons_choice(client, purpose, eve, manager):
    client.force_login(eve.user)
    client.post(f"/privacy/purposes/{purpose.slug}/opt-in/", {"terms_sha256": purpose.terms_sha256})
    record = ConsentRecord.objects.get(about_kind="data_use")
    client.force_login(manager.user)
    page = client.get("/privacy/").content.decode()
    assert "Not decided" in page and "You allowed this" not in page
    assert client.get(f"/receipts/{record.pk}/").status_code == 404


def test_an_unknown_purpose_is_404(client, eve):
    client.force_login(eve.user)
    assert client.get("/privacy/purposes/nothing/opt-in/").status_code == 404
