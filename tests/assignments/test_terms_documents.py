"""The terms a person agrees to are the words they were shown, stored once by their hash."""

import hashlib
import json
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from django.db import IntegrityError, InternalError, connection, transaction

from assignments.models import Campaign, Move, Proposal
from assignments.services import apply_due_moves, opt_in, propose_campaign
from consent.ledger import verify_chain
from consent.models import ConsentRecord, LedgerImmutableError, TermsDocument
from tests.assignments.helpers import ROLE, describe
from tests.conftest import WEB

pytestmark = pytest.mark.django_db


class TermsText(HTMLParser):
    """Collects the text of every element marked data-terms (and of its children)."""

    def __init__(self):
        super().__init__()
        self.depth = 0
        self.stack = []
        self.chunks = []

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "meta", "input", "img", "hr", "link"):
            return
        marked = any(name == "data-terms" for name, _ in attrs)
        self.stack.append(marked)
        if marked:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag in ("br", "meta", "input", "img", "hr", "link") or not self.stack:
            return
        if self.stack.pop():
            self.depth -= 1

    def handle_data(self, data):
        if self.depth and data.strip():
            self.chunks.append(" ".join(data.split()))


def shown_terms(html: str) -> list[str]:
    parser = TermsText()
    parser.feed(html)
    return parser.chunks


def strings_in(value) -> list[str]:
    if isinstance(value, str):
        return [" ".join(value.split())]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return [str(value)]


def page(client, user, proposal, **headers):
    client.force_login(user)
    response = client.get(f"/proposals/{proposal.pk}/", **headers)
    assert response.status_code == 200
    return response


def test_every_sentence_of_the_terms_on_the_page_is_in_the_hashed_document(
    client, proposal, employee
):
    response = page(client, employee.user, proposal)
    document = TermsDocument.objects.get(sha256=proposal.terms_sha256)
    assert hashlib.sha256(document.body.encode()).hexdigest() == proposal.terms_sha256
    stored = " | ".join(strings_in(document.content))
    shown = shown_terms(response.content.decode())
    # The title, every fact, the work in plain words and what saying no means are there.
    assert len(shown) >= 15, shown
    for sentence in shown:
        assert sentence in stored, f"shown but not hashed: {sentence!r}"
    assert ROLE in shown
    assert "If you say no" in shown
    # The confirmation step binds the decision to exactly this document.
    confirm = client.get(f"/proposals/{proposal.pk}/opt-in/").content.decode()
    assert f'value="{proposal.terms_sha256}"' in confirm


def test_editing_a_campaign_or_team_after_sending_changes_nothing_already_sent(
    client, employee, manager, ai_team, deadline, start_date, hr_user
):
    drive = Campaign.objects.create(
        name="Applied AI task force",
        slug="task-force",
        description="Mostly model evaluation; about 30% data labelling.",
        data_labelling_percent=30,
        created_by=hr_user,
    )
    [proposal] = propose_campaign(
        campaign=drive,
        employees=[employee],
        to_team=ai_team,
        actor=hr_user,
        role_description=describe("Evaluate models."),
        start_date=start_date,
        response_deadline=deadline,
    )
    sent = proposal.terms_sha256
    # A hostile edit after sending, as an admin could make it.
    Campaign.objects.filter(pk=drive.pk).update(description="Fun work, no labelling at all.")
    ai_team.name = "Renamed team"
    ai_team.save()
    html = page(client, employee.user, proposal).content.decode()
    assert "Mostly model evaluation; about 30% data labelling." in html
    assert "no labelling at all" not in html and "Renamed team" not in " ".join(shown_terms(html))
    proposal.refresh_from_db()
    assert proposal.terms_sha256 == sent
    record = opt_in(proposal=proposal, actor=employee.user, terms_sha256=sent, context=WEB)
    assert record.terms_sha256 == sent


def test_a_reader_of_another_language_agrees_to_the_words_in_that_language(
    client, proposal, employee, ai_team
):
    html = page(client, employee.user, proposal, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    german = TermsDocument.objects.get(translation_of=proposal.terms_sha256)
    assert german.language == "de" and german.sha256 != proposal.terms_sha256
    assert 'lang="de"' in html
    confirm = client.get(f"/proposals/{proposal.pk}/opt-in/", HTTP_ACCEPT_LANGUAGE="de")
    assert f'value="{german.sha256}"' in confirm.content.decode()
    for sentence in shown_terms(html):
        assert sentence in " | ".join(strings_in(german.content))
    record = opt_in(proposal=proposal, actor=employee.user, terms_sha256=german.sha256, context=WEB)
    assert record.terms_sha256 == german.sha256
    # The database's move guard accepts an opt-in to a stored translation of the terms.
    with time_machine.travel(proposal.start_date + timedelta(hours=9), tick=False):
        [move] = apply_due_moves()
    assert move.opt_in_record == record
    employee.refresh_from_db()
    assert employee.team == ai_team


def test_words_that_were_never_stored_cannot_be_agreed_to(proposal, employee):
    from portal.errors import TransitionError

    made_up = hashlib.sha256(b"terms nobody was shown").hexdigest()
    with pytest.raises(TransitionError, match="not the ones you were shown"):
        opt_in(proposal=proposal, actor=employee.user, terms_sha256=made_up, context=WEB)
    assert not ConsentRecord.objects.exists()
    assert not Move.objects.exists()


def test_a_stored_terms_document_cannot_be_changed_or_deleted(proposal):
    document = TermsDocument.objects.get(sha256=proposal.terms_sha256)
    with pytest.raises(LedgerImmutableError):
        document.save()
    for sql in (
        "UPDATE consent_termsdocument SET body = 'other words'",
        "DELETE FROM consent_termsdocument",
    ):
        with (
            pytest.raises((IntegrityError, InternalError)),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert TermsDocument.objects.get(sha256=proposal.terms_sha256).body == document.body


def test_the_terms_page_is_for_the_person_concerned_and_hr_only(
    client, proposal, employee, manager, outsider, hr_user
):
    url = f"/terms/{proposal.terms_sha256}/"
    for user, status in (
        (employee.user, 200),
        (hr_user, 200),
        (manager.user, 404),
        (outsider.user, 404),
    ):
        client.force_login(user)
        assert client.get(url).status_code == status, user
    client.force_login(employee.user)
    body = client.get(url).content.decode()
    stored = TermsDocument.objects.get(sha256=proposal.terms_sha256).body
    assert json.loads(stored)["title"] in body
    assert client.get(f"/terms/{'f' * 64}/").status_code == 404


def test_the_receipt_names_the_terms_document_and_links_to_it(client, proposal, employee):
    record = opt_in(
        proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB
    )
    client.force_login(employee.user)
    html = client.get(f"/receipts/{record.pk}/").content.decode()
    assert f'href="/terms/{proposal.terms_sha256}/"' in html
    receipt = json.loads(client.get(f"/receipts/{record.pk}.json").content)
    assert receipt["x-consent-portal"]["termsUrl"].endswith(f"/terms/{proposal.terms_sha256}/")


def test_a_campaign_stores_one_document_per_different_text(
    employee, manager, outsider, ai_team, deadline, start_date, hr_user
):
    drive = Campaign.objects.create(
        name="Drive", slug="drive", description="Evaluation.", created_by=hr_user
    )
    proposals = propose_campaign(
        campaign=drive,
        employees=[employee, manager, outsider],  # Platform, Platform, Payments
        to_team=ai_team,
        actor=hr_user,
        role_description=describe("Evaluate models."),
        start_date=start_date,
        response_deadline=deadline,
    )
    assert len({p.terms_sha256 for p in proposals}) == 2
    assert TermsDocument.objects.count() == 2
    assert verify_chain().intact
    documented = Proposal.objects.filter(terms_sha256__in=TermsDocument.objects.values("sha256"))
    assert documented.count() == 3
    # The campaign wrote no ledger record: a proposal is not a decision.
    assert not ConsentRecord.objects.exists()
