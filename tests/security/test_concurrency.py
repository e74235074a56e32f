"""Concurrency at scale on real PostgreSQL: many writers, many rounds, committed data.

tests/assignments/test_concurrent_decisions.py proves one person's two opt-ins at once accept
exactly one, and tests/lifecycle/test_races.py proves single opt-in/sweep races (40 rounds)
and two sweeps at once. This module repeats the races in volume, on long-lived threads that
each hold their own connection: 16 ledger writers at once, opt-in racing the expiry sweep at
the deadline for hundreds of proposals, and identical proposals submitted at the same moment.
"""

import io
import os
import random
import threading
import time
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from assignments.models import Proposal
from assignments.services import (
    expire_overdue_proposals,
    opt_in,
    propose_transfer,
    propose_transfers,
)
from consent import services as ledger_services
from consent.ledger import verify_chain
from consent.models import ConsentRecord
from people.models import Employee
from portal.errors import TransitionError
from tests.assignments.helpers import describe
from tests.conftest import WEB

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

WRITERS, APPENDS_EACH = 16, 10
RACERS = 8  # opt-ins per round, each on its own proposal, against 2 sweeps at its deadline
# `make test` runs 2,000 pairs and 800 identical proposals (about a minute on 2 loaded cores);
# the full size, 10,000 of each, takes several minutes and is run on demand:
#   CONCURRENCY_PAIRS=10000 CONCURRENCY_DUPLICATE_ROUNDS=1250 .venv/bin/pytest \
#       tests/security/test_concurrency.py
PAIRS = int(os.environ.get("CONCURRENCY_PAIRS", 2000))
DUPLICATE_ROUNDS = int(os.environ.get("CONCURRENCY_DUPLICATE_ROUNDS", 100))
DUPLICATES_EACH = 8


def in_rounds(workers, rounds):
    """Run workers[k](r) for r in range(rounds): every worker on its own thread and database
    connection, all workers released together at the start of each round. Returns
    results[r][k] as ("ok", value) or ("error", exception)."""
    barrier = threading.Barrier(len(workers))
    results = [[None] * len(workers) for _ in range(rounds)]

    def run(k, work):
        try:
            for r in range(rounds):
                barrier.wait(timeout=60)
                try:
                    results[r][k] = ("ok", work(r))
                except Exception as exc:
                    results[r][k] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(k, w)) for k, w in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    return results


def jitter():
    time.sleep(random.random() * 0.003)  # vary who reaches the row lock first


def people(n, team, manager, prefix):
    users = get_user_model().objects.bulk_create(
        [
            get_user_model()(
                username=f"{prefix}{i}@example.test", email=f"{prefix}{i}@example.test"
            )
            for i in range(n)
        ]
    )
    return Employee.objects.bulk_create(
        [
            Employee(user=u, name=f"{prefix} {i}", email=u.email, team=team, manager=manager)
            for i, u in enumerate(users)
        ]
    )


def test_sixteen_writers_appending_at_once_leave_an_unbroken_chain(platform, manager):
    subjects = [p.user for p in people(WRITERS, platform, manager, "writer")]
    before = ConsentRecord.objects.count()

    def writer(k):
        def append(r):
            with transaction.atomic():
                return ledger_services.append_record(
                    subject=subjects[k],
                    about_kind="proposal",
                    about_id=f"{k}-{r}",
                    action=ConsentRecord.Action.OPT_OUT,
                    terms_sha256="0" * 64,
                    terms_version="1",
                    actor=subjects[k],
                    context=WEB,
                    private_reason=f"reason {k}-{r}" if r % 2 else "",
                ).seq

        return append

    results = in_rounds([writer(k) for k in range(WRITERS)], APPENDS_EACH)
    errors = [v for row in results for kind, v in row if kind == "error"]
    assert errors == []
    seqs = sorted(v for row in results for _, v in row)
    assert len(seqs) == len(set(seqs)) == WRITERS * APPENDS_EACH  # no sequence number twice
    assert ConsentRecord.objects.count() == before + WRITERS * APPENDS_EACH
    report = verify_chain()
    assert report.intact, report.problem
    assert report.checked == before + WRITERS * APPENDS_EACH
    print(f"\n{WRITERS} writers appended {len(seqs)} records; chain intact")


def test_opt_in_racing_the_sweep_at_the_deadline_never_has_two_winners(
    platform, manager, ai_team, deadline
):
    random.seed(11)
    rounds = PAIRS // RACERS
    # One deadline per round, a second apart: a round's sweep reaches only its own proposals.
    deadlines = [deadline + timedelta(seconds=r) for r in range(rounds)]
    start_date = timezone.localdate(deadlines[-1]) + timedelta(days=14)
    staff = people(PAIRS, platform, manager, "racer")
    proposals = propose_transfers(
        items=[
            {
                "employee": person,
                "to_team": ai_team,
                "role_description": describe("Label data."),
                "start_date": start_date,
                "response_deadline": deadlines[i // RACERS],
            }
            for i, person in enumerate(staff)
        ],
        actor=manager.user,
    )
    grid = [proposals[r * RACERS : (r + 1) * RACERS] for r in range(rounds)]

    def decider(k):
        def decide(r):
            p = grid[r][k]
            jitter()
            return opt_in(
                proposal=p,
                actor=p.employee.user,
                terms_sha256=p.terms_sha256,
                context=WEB,
                now=deadlines[r] - timedelta(microseconds=1),  # a hair before the deadline
            ).about_id

        return decide

    def sweep(r):
        # A sweep is one short transaction and opt-ins queue for the ledger: start it later,
        # by up to a few opt-ins' time, so both sides win often.
        time.sleep(random.random() * 0.03)
        return expire_overdue_proposals(now=deadlines[r] + timedelta(microseconds=1))

    started = time.monotonic()
    results = in_rounds([decider(k) for k in range(RACERS)] + [sweep, sweep], rounds)
    elapsed = time.monotonic() - started

    opted_in, refused, expired = set(), set(), []
    for r, row in enumerate(results):
        for k in range(RACERS):
            kind, value = row[k]
            if kind == "ok":
                opted_in.add(grid[r][k].pk)
            else:
                assert isinstance(value, TransitionError), value  # refused cleanly, nothing else
                refused.add(grid[r][k].pk)
        for kind, value in row[RACERS:]:
            assert kind == "ok", value
            expired += value
    assert len(expired) == len(set(expired))  # two sweeps never expire the same proposal
    expired = set(expired)

    actions = defaultdict(list)
    for about_id, action in ConsentRecord.objects.filter(
        about_kind="proposal", about_id__in=[str(p.pk) for p in proposals]
    ).values_list("about_id", "action"):
        actions[int(about_id)].append(action)
    states = dict(Proposal.objects.filter(to_team=ai_team).values_list("pk", "state"))
    double_winners = opted_in & expired
    outcomes = Counter()
    for p in proposals:
        if p.pk in opted_in:
            outcome = (Proposal.State.OPTED_IN, [ConsentRecord.Action.OPT_IN])
        else:
            outcome = (Proposal.State.EXPIRED, [ConsentRecord.Action.EXPIRE])
        assert (states[p.pk], actions[p.pk]) == outcome, (p.pk, states[p.pk], actions[p.pk])
        outcomes[outcome[0]] += 1
    print(
        f"\n{PAIRS} opt-in/expiry pairs in {elapsed:.1f}s: opt-in won {outcomes['opted_in']}, "
        f"sweep won {outcomes['expired']}, double winners {len(double_winners)}"
    )
    assert double_winners == set()
    assert refused == expired and opted_in | expired == set(states)
    assert outcomes["opted_in"] and outcomes["expired"], outcomes  # both orders happened
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)  # the chain, and each state against the ledger
    assert "ledger intact" in out.getvalue()


def test_identical_proposals_at_the_same_moment_open_exactly_one(
    platform, manager, ai_team, deadline, start_date
):
    random.seed(12)
    staff = people(DUPLICATE_ROUNDS, platform, manager, "dup")

    def proposer(r):
        jitter()
        return propose_transfer(
            employee=staff[r],
            to_team=ai_team,
            actor=manager.user,
            role_description=describe("Label data."),
            start_date=start_date,
            response_deadline=deadline,
        ).pk

    results = in_rounds([proposer] * DUPLICATES_EACH, DUPLICATE_ROUNDS)
    for row in results:
        kinds = Counter(kind for kind, _ in row)
        assert kinds == {"ok": 1, "error": DUPLICATES_EACH - 1}, row
        for kind, value in row:
            if kind == "error":
                assert isinstance(value, ValidationError), value  # no other exception escapes
                assert "already has an open proposal" in str(value), value
    open_counts = Counter(
        Proposal.objects.filter(to_team=ai_team, state__in=Proposal.OPEN_STATES).values_list(
            "employee_id", flat=True
        )
    )
    duplicates = sum(n - 1 for n in open_counts.values())
    calls = DUPLICATE_ROUNDS * DUPLICATES_EACH
    print(
        f"\n{calls} identical proposals ({DUPLICATES_EACH} at once per person): "
        f"{len(open_counts)} opened, {calls - len(open_counts)} refused, duplicates {duplicates}"
    )
    assert duplicates == 0 and len(open_counts) == DUPLICATE_ROUNDS
