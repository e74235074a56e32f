"""`POST /api/v1/proposals/bulk/` as one batch: all or nothing, per-item errors, idempotent,
and a number of queries that does not grow with the number of items."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assignments.models import Proposal, ProposalEvent
from notifications.models import Notification
from outbox.models import OutboxEvent
from tests.api.test_api import new_proposal
from tests.conftest import make_person

pytestmark = pytest.mark.django_db


def people(count, team, manager=None, start=0):
    return [
        make_person(
            f"p{n}@example.test", f"Person {n}", team, manager=manager, external_id=f"P-{n}"
        )
        for n in range(start, start + count)
    ]


def post(client, items, **headers):
    return client.post("/api/v1/proposals/bulk/", {"proposals": items}, format="json", **headers)


def test_the_number_of_queries_does_not_grow_with_the_items(
    hris, platform, ai_team, deadline, start_date
):
    def queries_for(who):
        items = [new_proposal(p.external_id, ai_team, deadline, start_date) for p in who]
        with CaptureQueriesContext(connection) as captured:
            response = post(hris, items)
        assert response.status_code == 201, response.content
        return len(captured)

    queries_for(people(1, platform))  # the first request also stamps the key's last use
    one = queries_for(people(1, platform, start=1))
    ten = queries_for(people(10, platform, start=2))
    assert one == ten, (one, ten)
    assert Proposal.objects.count() == 12
    # Each proposal has its event, the person's notice and its outbox event, as one by one.
    assert ProposalEvent.objects.filter(kind=ProposalEvent.Kind.PROPOSED).count() == 12
    assert Notification.objects.filter(kind=Notification.Kind.PROPOSAL_ARRIVED).count() == 12
    assert OutboxEvent.objects.filter(topic="proposal.created").count() == 12


def test_answers_come_back_in_the_order_the_items_were_sent(
    hris, platform, ai_team, payments, deadline, start_date
):
    who = people(3, platform)
    items = [
        new_proposal("P-2", ai_team, deadline, start_date),
        new_proposal("P-0", payments, deadline, start_date),
        new_proposal("P-1", ai_team, deadline, start_date),
    ]
    created = post(hris, items).json()
    assert [(p["employee"], p["to_team"]) for p in created] == [
        ("P-2", "applied-ai"),
        ("P-0", "payments"),
        ("P-1", "applied-ai"),
    ]
    assert {p["from_team"] for p in created} == {"platform"} and len(who) == 3
    stored = Proposal.objects.get(pk=created[0]["id"])
    assert stored.terms_sha256 and stored.contact_name == "Workday sync"  # the proposer


def test_two_items_for_the_same_person_and_team_refuse_the_second_and_write_nothing(
    hris, platform, ai_team, deadline, start_date
):
    people(2, platform)
    items = [
        new_proposal("P-0", ai_team, deadline, start_date),
        new_proposal("P-1", ai_team, deadline, start_date),
        new_proposal("P-0", ai_team, deadline, start_date),
        new_proposal("P-1", platform, deadline, start_date),  # already in Platform
    ]
    refused = post(hris, items)
    assert refused.status_code == 400 and refused["Content-Type"] == "application/problem+json"
    body = refused.json()
    assert [item["index"] for item in body["items"]] == [2, 3]
    assert "already has an open proposal" in str(body["items"][0]["errors"]["to_team"])
    assert "already in Platform" in str(body["items"][1]["errors"]["to_team"])
    assert not Proposal.objects.exists() and not OutboxEvent.objects.exists()


def test_unknown_people_and_teams_are_named_per_item(hris, platform, deadline, start_date):
    people(1, platform)
    ghost_team = type("T", (), {"slug": "no-such-team"})()
    items = [
        new_proposal("P-0", platform, deadline, start_date, to_team="no-such-team"),
        new_proposal("ghost", ghost_team, deadline, start_date),
    ]
    refused = post(hris, items).json()
    assert [item["index"] for item in refused["items"]] == [0, 1]
    assert "no-such-team" in str(refused["items"][0]["errors"]["to_team"])
    assert "ghost" in str(refused["items"][1]["errors"]["employee"])


def test_the_same_idempotency_key_replays_the_batch_and_creates_nothing_new(
    hris, platform, ai_team, deadline, start_date
):
    people(3, platform)
    items = [new_proposal(f"P-{n}", ai_team, deadline, start_date) for n in range(3)]
    first = post(hris, items, HTTP_IDEMPOTENCY_KEY="batch-1")
    again = post(hris, items, HTTP_IDEMPOTENCY_KEY="batch-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Proposal.objects.count() == 3
    other = post(hris, items[:2], HTTP_IDEMPOTENCY_KEY="batch-1")
    assert other.status_code == 422 and Proposal.objects.count() == 3


def test_a_manager_proposes_in_bulk_only_for_their_own_reports(
    client, manager, platform, ai_team, deadline, start_date, outsider
):
    people(2, platform, manager=manager)
    outsider.external_id = "O-1"
    outsider.save(update_fields=["external_id"])
    client.force_login(manager.user)
    mine = [new_proposal(f"P-{n}", ai_team, deadline, start_date) for n in range(2)]
    created = client.post(
        "/api/v1/proposals/bulk/", {"proposals": mine}, content_type="application/json"
    )
    assert created.status_code == 201, created.content
    refused = client.post(
        "/api/v1/proposals/bulk/",
        {"proposals": [new_proposal("O-1", ai_team, deadline, start_date)]},
        content_type="application/json",
    )
    assert refused.status_code == 403 and Proposal.objects.count() == 2


def test_the_bulk_answer_is_what_the_proposal_serializer_gives(
    hris, platform, ai_team, deadline, start_date
):
    from assignments.api import ProposalSerializer, proposals_as_json

    teamless = make_person("nobody@example.test", "No Team", None, external_id="P-none")
    who = [*people(2, platform), teamless]
    items = [new_proposal(p.external_id, ai_team, deadline, start_date) for p in who]
    response = post(hris, items)
    assert response.status_code == 201, response.content
    stored = list(Proposal.objects.filter(pk__in=[p["id"] for p in response.json()]))
    stored.sort(key=lambda p: [p_["id"] for p_ in response.json()].index(p.pk))
    assert response.json() == ProposalSerializer(stored, many=True).data
    assert response.json()[2]["from_team"] is None  # a person with no team yet
    # A decided one too (never in a bulk answer, but the function is the serializer's twin).
    stored[0].decided_at, stored[0].state = stored[0].created_at, Proposal.State.OPTED_OUT
    assert proposals_as_json(stored[:1]) == ProposalSerializer(stored[:1], many=True).data


def test_the_person_is_told_with_a_link_to_their_proposal(
    hris, platform, ai_team, deadline, start_date
):
    from django.urls import reverse

    who = people(2, platform)
    created = post(hris, [new_proposal(p.external_id, ai_team, deadline, start_date) for p in who])
    for proposal in created.json():
        notice = Notification.objects.get(dedupe_key=f"proposal_arrived:{proposal['id']}")
        assert notice.url == reverse("assignments:proposal", args=[proposal["id"]])
