"""Races on real PostgreSQL: two threads, two connections, committed data, one winner."""

import random
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from assignments import tasks
from assignments.models import Campaign, Move, Proposal
from assignments.services import (
    apply_move,
    expire_overdue_proposals,
    opt_in,
    propose_campaign,
    propose_transfer,
)
from consent.ledger import verify_chain
from consent.models import ConsentRecord
from notifications.models import Notification
from people.models import Employee
from portal.celery import single_instance
from portal.errors import TransitionError
from tests.assignments.helpers import describe
from tests.conftest import WEB, make_person

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 40


def race(*functions):
    """Run the functions at the same moment, each on its own thread and connection."""
    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)

    def run(i, fn):
        try:
            barrier.wait()
            results[i] = ("ok", fn())
        except Exception as exc:
            results[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(functions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def jitter():
    # Vary who reaches the row lock first, so both outcomes are exercised.
    import time

    time.sleep(random.random() * 0.004)


def test_opt_in_racing_the_expiry_sweep_has_exactly_one_winner(
    manager, ai_team, platform, deadline, start_date
):
    random.seed(4)
    wins = Counter()
    for i in range(ROUNDS):
        person = make_person(f"racer{i}@example.test", f"Racer {i}", platform, manager=manager)
        proposal = propose_transfer(
            employee=person,
            to_team=ai_team,
            actor=manager.user,
            role_description=describe("Label data."),
            start_date=start_date,
            response_deadline=deadline,
        )
        # The employee clicks a hair before the deadline; the sweep runs a hair after it.
        decide_at = deadline - timedelta(microseconds=1)
        sweep_at = deadline + timedelta(microseconds=1)

        def decide(p=proposal, u=person.user, t=decide_at):
            jitter()
            return opt_in(proposal=p, actor=u, terms_sha256=p.terms_sha256, context=WEB, now=t)

        def sweep(t=sweep_at):
            jitter()
            return expire_overdue_proposals(now=t)

        (decided, record), (swept, expired) = race(decide, sweep)
        assert swept == "ok", expired
        proposal.refresh_from_db()
        ledger = list(
            ConsentRecord.objects.filter(about_id=str(proposal.pk)).values_list("action", flat=True)
        )
        if decided == "ok":
            wins["opt_in"] += 1
            assert proposal.pk not in expired
            assert proposal.state == Proposal.State.OPTED_IN
            assert ledger == [ConsentRecord.Action.OPT_IN]
        else:
            wins["sweep"] += 1
            assert isinstance(record, TransitionError), record
            assert expired == [proposal.pk]
            assert proposal.state == Proposal.State.EXPIRED
            assert ledger == [ConsentRecord.Action.EXPIRE]
    assert wins["opt_in"] + wins["sweep"] == ROUNDS
    print(f"\nopt-in won {wins['opt_in']}, sweep won {wins['sweep']} of {ROUNDS}")
    assert wins["opt_in"] and wins["sweep"], wins  # both orders really happened

    # On the start date, only the opted-in proposals move; an expired one never does.
    on_start = deadline + timedelta(days=30)
    for p in Proposal.objects.filter(to_team=ai_team):
        apply_move(proposal=p, now=on_start)
    assert Move.objects.count() == wins["opt_in"]
    assert not Move.objects.filter(proposal__state=Proposal.State.EXPIRED).exists()
    assert verify_chain().intact


def test_two_sweeps_at_once_expire_each_proposal_once(
    manager, ai_team, platform, deadline, hr_user
):
    users = get_user_model().objects.bulk_create(
        [
            get_user_model()(username=f"p{i}@example.test", email=f"p{i}@example.test")
            for i in range(300)
        ]
    )
    people = Employee.objects.bulk_create(
        [
            Employee(user=u, name=f"Person {i}", email=u.email, team=platform, manager=manager)
            for i, u in enumerate(users)
        ]
    )
    campaign = Campaign.objects.create(
        name="Task force", slug="task-force", description="Labelling.", created_by=hr_user
    )
    propose_campaign(
        campaign=campaign,
        employees=people,
        to_team=ai_team,
        actor=hr_user,
        role_description=describe("Label data."),
        start_date=deadline.date() + timedelta(days=7),
        response_deadline=deadline,
    )
    after = deadline + timedelta(minutes=1)
    (a_status, a), (b_status, b) = race(
        lambda: expire_overdue_proposals(now=after), lambda: expire_overdue_proposals(now=after)
    )
    assert a_status == b_status == "ok"
    assert not set(a) & set(b)
    assert len(a) + len(b) == 300
    print(f"\nfirst sweep expired {len(a)}, second {len(b)}")
    assert Proposal.objects.filter(state=Proposal.State.EXPIRED).count() == 300
    expiries = ConsentRecord.objects.filter(action=ConsentRecord.Action.EXPIRE)
    assert expiries.count() == expiries.values("about_id").distinct().count() == 300
    # Each employee is told once; HR, who proposed them all, gets one summary per sweep that
    # expired any, and the summaries together name each proposal once.
    notices = Notification.objects.filter(kind=Notification.Kind.PROPOSAL_EXPIRED)
    assert notices.filter(context__audience="employee").count() == 300
    summaries = list(notices.filter(context__audience="proposer").values_list("context", flat=True))
    assert len(summaries) == (1 if not a or not b else 2)
    named = [pk for summary in summaries for pk in summary["proposal_ids"]]
    assert sorted(named) == sorted(a + b)
    assert verify_chain().intact


def test_a_second_beat_skips_the_sweep_while_the_first_holds_the_lock(db):
    with single_instance("sweep-deadlines") as first:
        assert first is True
        assert tasks.sweep_deadlines() == {"skipped": True}
    assert "skipped" not in tasks.sweep_deadlines()


def test_two_sweeps_at_once_send_each_reminder_once(
    manager, ai_team, platform, deadline, start_date, mailoutbox
):
    from assignments.services import send_due_reminders
    from notifications.tasks import send_notification_email

    people = [
        make_person(f"r{i}@example.test", f"R {i}", platform, manager=manager) for i in range(20)
    ]
    for person in people:
        propose_transfer(
            employee=person,
            to_team=ai_team,
            actor=manager.user,
            role_description=describe("Label data."),
            start_date=start_date,
            response_deadline=deadline,
        )
    when = deadline - timedelta(hours=23)
    (a_status, a), (b_status, b) = race(
        lambda: send_due_reminders(now=when), lambda: send_due_reminders(now=when)
    )
    assert a_status == b_status == "ok", (a, b)
    reminders = Notification.objects.filter(kind=Notification.Kind.DEADLINE_REMINDER)
    assert reminders.count() == 20
    # Both producers may queue the same row's email (each saw it as new); the send claims the
    # row, so however many messages arrive, each reminder is emailed once.
    for pk in a + b:
        send_notification_email(pk)
    assert len(mailoutbox) == 20
    assert sorted(m.to[0] for m in mailoutbox) == sorted(p.email for p in people)


def test_two_dispatchers_at_once_deliver_each_outbox_event_once(
    manager, ai_team, platform, deadline, start_date
):
    from outbox.models import OutboxEvent
    from outbox.services import dispatch_pending

    for i in range(10):
        person = make_person(f"m{i}@example.test", f"M {i}", platform, manager=manager)
        p = propose_transfer(
            employee=person,
            to_team=ai_team,
            actor=manager.user,
            role_description=describe("Label data."),
            start_date=start_date,
            response_deadline=deadline,
        )
        opt_in(proposal=p, actor=person.user, terms_sha256=p.terms_sha256, context=WEB)
        apply_move(proposal=p, now=deadline + timedelta(days=30))
    # 10 moves, and the 10 proposals' and 10 opt-ins' own events (for webhooks).
    assert OutboxEvent.objects.filter(dispatched_at=None).count() == 30
    (a_status, a), (b_status, b) = race(dispatch_pending, dispatch_pending)
    assert a_status == b_status == "ok", (a, b)
    assert a + b == 30
    assert not OutboxEvent.objects.filter(dispatched_at=None).exists()
    moved = Notification.objects.filter(kind=Notification.Kind.MOVE_EFFECTIVE)
    assert moved.count() == 20  # employee and proposer, once each
