"""seed_scale at a tiny size: the organisation is consistent and the ledger chain verifies."""

from io import StringIO

import pytest
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError

from assignments.models import Campaign, Move, Proposal
from bench.management.commands.seed_scale import Command as SeedScale
from consent.ledger import verify_chain
from consent.models import ConsentRecord
from people.models import Employee, Team

EMPLOYEES = 200

# seed_scale commits through its own COPY connections, so the test needs real transactions.
pytestmark = pytest.mark.django_db(transaction=True)


def seed(**options) -> str:
    # The command is installed only by bench.settings; the tests run the portal's settings.
    out = StringIO()
    call_command(SeedScale(), employees=EMPLOYEES, stdout=out, **options)
    return out.getvalue()


def test_seeding_builds_every_state_and_a_ledger_chain_that_verifies():
    summary = seed()

    assert f"seeded {EMPLOYEES} employees" in summary
    assert "peak memory" in summary
    assert Employee.objects.count() == EMPLOYEES
    assert Team.objects.count() == 20
    assert Campaign.objects.count() == 2
    assert Proposal.objects.count() == 5 * EMPLOYEES
    assert set(Proposal.objects.values_list("state", flat=True)) == set(Proposal.State.values)
    assert ConsentRecord.objects.count() == 10 * EMPLOYEES
    report = verify_chain()
    assert report.intact, report.problem
    assert report.checked == 10 * EMPLOYEES
    # Everybody but the head of the company has a manager.
    assert Employee.objects.filter(manager=None).count() == 1


def test_every_effective_proposal_has_a_move_that_explains_the_persons_team():
    seed()

    effective = Proposal.objects.filter(state=Proposal.State.EFFECTIVE)
    assert effective.exists()
    assert Move.objects.count() == effective.count()
    for move in Move.objects.select_related("employee", "opt_in_record", "proposal"):
        assert move.employee.team_id == move.to_team_id
        assert move.opt_in_record.action == ConsentRecord.Action.OPT_IN
        assert move.opt_in_record.terms_sha256 == move.proposal.terms_sha256


def test_seeding_again_is_skipped_with_if_missing_and_refused_without():
    seed()

    assert "already seeded" in seed(if_missing=True)
    with pytest.raises(CommandError, match="already has employees") as refused:
        seed()
    assert refused.value.returncode == 3  # bench/databases.py seeds a fresh database then


def test_the_portal_itself_has_no_seed_scale_command():
    assert "seed_scale" not in get_commands()
