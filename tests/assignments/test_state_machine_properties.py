"""Property-based proof of the core invariants over random sequences of actions.

Hypothesis drives propose / opt in / opt out / withdraw consent / withdraw proposal / extend /
someone else tries to decide / the clock passes a deadline / the clock passes a start date /
undraft, and after every step checks that:

* every Move points at the employee's own opt-in for that proposal and terms, never
  followed by an opt-out, withdrawal or expiry;
* every person's team is their starting team or the destination of their latest Move;
* no proposal ever leaves a terminal state;
* each proposal's state agrees with its newest ledger record;
* the ledger's hash chain verifies.

Each example runs inside a savepoint that is rolled back, so examples never see each other.
"""

import os
from collections import Counter
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from assignments import services
from assignments.deadlines import add_working_days
from assignments.models import Move, Proposal
from consent.ledger import verify_chain
from consent.models import ConsentRecord
from people.models import Team
from tests.assignments.helpers import describe
from tests.conftest import WEB, make_person

DOMAIN_ERRORS = (services.TransitionError, ValidationError, PermissionDenied)
State = Proposal.State
# What the examples reached, so the test can show it exercised moves, expiries and undrafts.
REACHED = Counter()
Action = ConsentRecord.Action

# Which newest ledger action each state allows (None: no record yet).
STATE_TO_LEDGER = {
    State.PENDING: {None},
    State.OPTED_IN: {Action.OPT_IN},
    State.EFFECTIVE: {Action.OPT_IN, Action.UNDRAFT},
    State.OPTED_OUT: {Action.OPT_OUT, Action.WITHDRAW},
    State.EXPIRED: {Action.EXPIRE},
    State.WITHDRAWN: {None, Action.OPT_IN},
}


class ConsentMachine(RuleBasedStateMachine):
    @initialize()
    def setup_org(self):
        self._savepoint = transaction.savepoint()
        self.now = timezone.now().replace(microsecond=0)
        self.teams = [Team.objects.create(name=f"Team {i}", slug=f"team-{i}") for i in range(3)]
        boss = make_person("boss@example.test", "Boss", self.teams[0])
        self.manager = boss.user
        self.people = [
            make_person(f"p{i}@example.test", f"Person {i}", self.teams[i % 3], manager=boss)
            for i in range(3)
        ]
        self.start_teams = {p.pk: p.team_id for p in self.people}
        self.proposals: list[int] = []
        self.moved: list[int] = []  # proposals that became a move
        self.terminal: dict[int, str] = {}

    def teardown(self):
        if hasattr(self, "_savepoint"):
            transaction.savepoint_rollback(self._savepoint)

    # --- helpers --------------------------------------------------------------------------

    def _proposal(self, index: int) -> Proposal:
        pk = self.proposals[index % len(self.proposals)]
        return Proposal.objects.select_related("employee__user").get(pk=pk)

    def _attempt(self, action, **kwargs):
        try:
            with transaction.atomic():
                return action(**kwargs)
        except DOMAIN_ERRORS:
            return None

    # --- rules ----------------------------------------------------------------------------

    @rule(
        person=st.integers(0, 2),
        team=st.integers(0, 2),
        window=st.integers(2, 12),
        lead_days=st.integers(0, 10),
    )
    def propose(self, person, team, window, lead_days):
        deadline = add_working_days(self.now, window)
        proposal = self._attempt(
            services.propose_transfer,
            employee=self.people[person],
            to_team=self.teams[team],
            actor=self.manager,
            role_description=describe("Label and evaluate model outputs"),
            start_date=timezone.localdate(deadline) + timedelta(days=lead_days),
            response_deadline=deadline,
            now=self.now,
        )
        if window < 5:
            assert proposal is None, "a window shorter than the minimum was accepted"
        if proposal is not None:
            self.proposals.append(proposal.pk)

    @precondition(lambda self: self.proposals)
    @rule(index=st.integers(0, 50))
    def opt_in(self, index):
        proposal = self._proposal(index)
        self._attempt(
            services.opt_in,
            proposal=proposal,
            actor=proposal.employee.user,
            terms_sha256=proposal.terms_sha256,
            context=WEB,
            now=self.now,
        )

    @precondition(lambda self: self.proposals)
    @rule(index=st.integers(0, 50))
    def opt_out(self, index):
        proposal = self._proposal(index)
        self._attempt(
            services.opt_out,
            proposal=proposal,
            actor=proposal.employee.user,
            context=WEB,
            private_reason="no thanks",
            now=self.now,
        )

    @precondition(lambda self: self.proposals)
    @rule(index=st.integers(0, 50))
    def withdraw_consent(self, index):
        proposal = self._proposal(index)
        self._attempt(
            services.withdraw_consent,
            proposal=proposal,
            actor=proposal.employee.user,
            context=WEB,
            now=self.now,
        )

    @precondition(lambda self: self.proposals)
    @rule(index=st.integers(0, 50))
    def someone_else_tries_to_decide(self, index):
        proposal = self._proposal(index)
        before = ConsentRecord.objects.count()
        for action in (services.opt_in, services.opt_out):
            kwargs = {"terms_sha256": proposal.terms_sha256} if action is services.opt_in else {}
            result = self._attempt(
                action, proposal=proposal, actor=self.manager, context=WEB, now=self.now, **kwargs
            )
            assert result is None
        assert ConsentRecord.objects.count() == before

    @precondition(lambda self: self.proposals)
    @rule(index=st.integers(0, 50))
    def withdraw_proposal(self, index):
        self._attempt(
            services.withdraw_proposal,
            proposal=self._proposal(index),
            actor=self.manager,
            reason="Plans changed.",
            now=self.now,
        )

    @precondition(lambda self: self.proposals)
    @rule(index=st.integers(0, 50), hours=st.integers(-48, 96))
    def extend(self, index, hours):
        proposal = self._proposal(index)
        result = self._attempt(
            services.extend_deadline,
            proposal=proposal,
            actor=self.manager,
            new_deadline=proposal.response_deadline + timedelta(hours=hours),
            reason="More time.",
            now=self.now,
        )
        if hours <= 0:
            assert result is None, "a deadline was shortened"

    @precondition(lambda self: self.proposals)
    @rule(index=st.integers(0, 50))
    def clock_passes_deadline(self, index):
        proposal = self._proposal(index)
        self.now = max(self.now, proposal.response_deadline + timedelta(minutes=1))
        if services.expire_overdue_proposals(now=self.now):
            REACHED["expiry"] += 1

    @precondition(lambda self: self.proposals)
    @rule(index=st.integers(0, 50))
    def clock_passes_start_date(self, index):
        proposal = self._proposal(index)
        start = timezone.make_aware(
            timezone.datetime.combine(proposal.start_date, timezone.datetime.min.time())
        ) + timedelta(hours=9)
        self.now = max(self.now, start)
        services.expire_overdue_proposals(now=self.now)
        moves = services.apply_due_moves(now=self.now)
        if moves:
            REACHED["move"] += 1
            self.moved.extend(move.proposal_id for move in moves)

    @precondition(lambda self: self.moved)
    @rule(index=st.integers(0, 50), preference=st.integers(0, 2))
    def undraft_after_a_move(self, index, preference):
        """The undraft on a proposal that did become a move (the rule below tries any one, and
        a random pick seldom lands on one of the few moved): asked at any time after it."""
        self.undraft(self.proposals.index(self.moved[index % len(self.moved)]), preference)

    @precondition(lambda self: self.proposals)
    @rule(index=st.integers(0, 50), preference=st.integers(0, 2))
    def undraft(self, index, preference):
        proposal = self._proposal(index)
        request = self._attempt(
            services.undraft,
            proposal=proposal,
            actor=proposal.employee.user,
            context=WEB,
            team_preferences=[self.teams[preference]],
            now=self.now,
        )
        if request is not None:
            REACHED["undraft"] += 1

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def every_move_has_a_live_opt_in(self):
        if not hasattr(self, "_savepoint"):
            return
        for move in Move.objects.select_related("opt_in_record", "proposal", "employee"):
            record = move.opt_in_record
            assert record.action == Action.OPT_IN
            assert record.about_kind == "proposal" and record.about_id == str(move.proposal_id)
            assert record.subject_id == move.employee.user_id
            assert record.terms_sha256 == move.proposal.terms_sha256
            revoked = ConsentRecord.objects.filter(
                about_kind="proposal",
                about_id=str(move.proposal_id),
                action__in=[Action.OPT_OUT, Action.WITHDRAW, Action.EXPIRE],
            )
            assert not revoked.exists()

    @invariant()
    def teams_change_only_through_moves(self):
        if not hasattr(self, "_savepoint"):
            return
        for person in self.people:
            person.refresh_from_db()
            latest = Move.objects.filter(employee=person).order_by("-id").first()
            expected = latest.to_team_id if latest else self.start_teams[person.pk]
            assert person.team_id == expected

    @invariant()
    def terminal_states_are_final_and_match_the_ledger(self):
        if not hasattr(self, "_savepoint"):
            return
        for pk, state in Proposal.objects.filter(pk__in=self.proposals).values_list("pk", "state"):
            if pk in self.terminal:
                assert state == self.terminal[pk], f"proposal {pk} left {self.terminal[pk]}"
            elif state in Proposal.TERMINAL_STATES:
                self.terminal[pk] = state
            newest = (
                ConsentRecord.objects.filter(about_kind="proposal", about_id=str(pk))
                .order_by("-id")
                .values_list("action", flat=True)
                .first()
            )
            assert newest in STATE_TO_LEDGER[state], (pk, state, newest)

    @invariant()
    def ledger_verifies(self):
        if not hasattr(self, "_savepoint"):
            return
        assert verify_chain().intact


ConsentMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("CONSENT_MACHINE_EXAMPLES", 500)),
    stateful_step_count=15,
    deadline=None,
    # The same sequences on every run: with fresh random ones, about one run in many reached
    # no undraft (it needs a move first) and failed the coverage check below for nothing.
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.mark.slow
@pytest.mark.django_db
def test_random_action_sequences_never_break_the_invariants():
    REACHED.clear()
    ConsentMachine.TestCase("runTest").runTest()
    assert REACHED["move"] and REACHED["undraft"] and REACHED["expiry"], REACHED
