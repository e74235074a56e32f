"""HR's demo data: a sent campaign of 40+ people in every state, small teams, an open
placement request; made through the services (the ledger verifies), and idempotent."""

from collections import Counter

import pytest
from django.utils import timezone

from assignments.models import Campaign, PlacementRequest, Proposal, ProposalEvent
from consent.ledger import verify_chain
from demo.hr import seed_hr_demo

pytestmark = pytest.mark.django_db


def test_the_hr_demo_has_every_state_small_teams_and_a_queue(hr_user, hr_client):
    result = seed_hr_demo(hr_user=hr_user, now=timezone.now())
    campaign = result["campaign"]
    assert campaign.state == Campaign.State.SENT
    proposals = Proposal.objects.filter(campaign=campaign).select_related("from_team", "employee")
    assert proposals.count() >= 40
    states = Counter(proposals.values_list("state", flat=True))
    assert set(states) == {"pending", "opted_in", "opted_out", "expired", "withdrawn", "effective"}
    assert ProposalEvent.objects.filter(
        proposal__campaign=campaign, kind=ProposalEvent.Kind.UNDRAFTED
    ).exists()
    by_team = Counter(p.from_team.name for p in proposals)
    assert len(by_team) >= 5 and min(by_team.values()) < 5  # a suppressed cell
    assert len({p.employee.title for p in proposals}) >= 4  # job levels
    assert PlacementRequest.objects.filter(state=PlacementRequest.State.OPEN).count() == 2
    assert verify_chain().intact
    # HR sees it all in the workspace.
    assert "Internal AI assistants" in hr_client.get("/hr/campaigns/").content.decode()
    assert hr_client.get("/hr/placements/").content.decode().count("Offer placement") == 2
    assert hr_client.get(f"/hr/campaigns/{campaign.pk}/").status_code == 200


def test_seeding_the_hr_demo_twice_changes_nothing(hr_user):
    seed_hr_demo(hr_user=hr_user, now=timezone.now())
    counts = (Proposal.objects.count(), ProposalEvent.objects.count())
    assert seed_hr_demo(hr_user=hr_user, now=timezone.now())["created"] is False
    assert (Proposal.objects.count(), ProposalEvent.objects.count()) == counts
