"""Time passes: reminders, expiry, start-date moves, a withdrawal on the eve of the move.

The sweep task is called directly (as beat would run it), with the clock moved by
time-machine; nothing is mocked and the Redis lock is real.
"""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from assignments import tasks
from assignments.models import Move, Proposal
from assignments.services import opt_in, withdraw_consent
from consent.ledger import verify_chain
from consent.models import ConsentRecord
from notifications.models import Notification
from outbox.models import OutboxEvent
from tests.conftest import WEB
from tests.lifecycle.conftest import send_all_pending

pytestmark = pytest.mark.django_db

Kind = Notification.Kind


def at(moment):
    return time_machine.travel(moment, tick=False)


def reminders():
    return list(
        Notification.objects.filter(kind=Kind.DEADLINE_REMINDER)
        .order_by("id")
        .values_list("context__hours", flat=True)
    )


def test_reminders_go_out_72_and_24_hours_before_the_deadline_once_each(
    proposal, employee, mailoutbox
):
    deadline = proposal.response_deadline
    with at(deadline - timedelta(hours=73)):
        tasks.sweep_deadlines()
    assert reminders() == []
    with at(deadline - timedelta(hours=71, minutes=59)):
        tasks.sweep_deadlines()
        tasks.sweep_deadlines()  # every minute: still one reminder
    assert reminders() == [72]
    with at(deadline - timedelta(hours=30)):
        tasks.sweep_deadlines()
    assert reminders() == [72]
    with at(deadline - timedelta(hours=23)):
        tasks.sweep_deadlines()
        send_all_pending()
    assert reminders() == [72, 24]
    # The arrival notice is written with the proposal itself; the reminders follow it.
    assert [m.subject for m in mailoutbox][1:] == [
        "Reminder: 72 hours left to answer the proposal to join Applied AI",
        "Reminder: 24 hours left to answer the proposal to join Applied AI",
    ]
    assert "nothing changes for you" in mailoutbox[2].body


def test_reminder_hours_are_configurable(proposal, settings):
    settings.PORTAL_REMINDER_HOURS = [48]
    with at(proposal.response_deadline - timedelta(hours=60)):
        tasks.sweep_deadlines()
    assert reminders() == []
    with at(proposal.response_deadline - timedelta(hours=47)):
        tasks.sweep_deadlines()
    assert reminders() == [48]


def test_an_answered_proposal_gets_no_reminder(proposal, employee):
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    with at(proposal.response_deadline - timedelta(hours=2)):
        tasks.sweep_deadlines()
    assert reminders() == []


def test_the_sweep_expires_a_silent_proposal_once_and_tells_both_sides(
    proposal, employee, manager, mailoutbox
):
    with at(proposal.response_deadline - timedelta(seconds=1)):
        assert tasks.sweep_deadlines()["expired"] == 0
    with at(proposal.response_deadline + timedelta(minutes=1)):
        assert tasks.sweep_deadlines()["expired"] == 1
        assert tasks.sweep_deadlines()["expired"] == 0
        send_all_pending()
    proposal.refresh_from_db()
    assert proposal.state == Proposal.State.EXPIRED
    [record] = ConsentRecord.objects.filter(about_id=str(proposal.pk))
    assert record.action == ConsentRecord.Action.EXPIRE and record.actor is None
    assert verify_chain().intact
    expired = [m for m in mailoutbox if "xpired" in m.subject]  # after the 24 h reminder
    assert sorted(m.to[0] for m in expired) == ["eve@example.test", "morgan@example.test"]
    assert any("nothing changes for you" in m.body for m in expired)
    assert Notification.objects.filter(kind=Kind.PROPOSAL_EXPIRED).count() == 2


def test_the_move_happens_on_the_start_date_and_is_announced_through_the_outbox(
    proposal, employee, manager, ai_team, mailoutbox
):
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    start = timezone.make_aware(
        timezone.datetime.combine(proposal.start_date, timezone.datetime.min.time())
    )
    with at(start - timedelta(minutes=1)):
        assert tasks.sweep_deadlines()["moves"] == 0
    with at(start + timedelta(minutes=1)):
        result = tasks.sweep_deadlines()
        assert tasks.sweep_deadlines()["moves"] == 0
    assert result["moves"] == 1 and result["dispatched"] == 1
    employee.refresh_from_db()
    assert employee.team == ai_team
    event = OutboxEvent.objects.get(topic="move.effective")
    assert event.topic == "move.effective" and event.dispatched_at is not None
    send_all_pending()
    # Earlier notices (arrival, receipt) are written with their own changes; these two are new.
    subjects = sorted(
        m.subject for m in mailoutbox if "joined" in m.subject or "took effect" in m.subject
    )
    assert subjects == [
        "Eve Employee has joined Applied AI",
        "Welcome to Applied AI: your move took effect",
    ]


def test_consent_withdrawn_the_day_before_the_start_means_no_move(
    proposal, employee, platform, mailoutbox
):
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    eve = timezone.make_aware(
        timezone.datetime.combine(
            proposal.start_date - timedelta(days=1), timezone.datetime.min.time()
        )
    ) + timedelta(hours=17)
    with at(eve):
        withdraw_consent(proposal=proposal, actor=employee.user, context=WEB)
    with at(eve + timedelta(days=1, hours=1)):
        result = tasks.sweep_deadlines()
    assert result["moves"] == 0
    employee.refresh_from_db()
    proposal.refresh_from_db()
    assert employee.team == platform
    assert proposal.state == Proposal.State.OPTED_OUT
    assert not Move.objects.exists()
    assert not OutboxEvent.objects.filter(topic="move.effective").exists()


def test_the_daily_hr_digest_is_sent_once_per_day_without_private_reasons(
    proposal, employee, hr_user, mailoutbox
):
    from assignments.services import opt_out

    opt_out(proposal=proposal, actor=employee.user, context=WEB, private_reason="secret reason")
    tasks.send_hr_digest()
    tasks.send_hr_digest()  # a second beat, or a retry
    send_all_pending()
    [digest] = [m for m in mailoutbox if m.to == ["harper@example.test"]]
    assert digest.to == ["harper@example.test"]
    assert "opted out 1" in digest.body
    assert "secret" not in digest.body and "secret" not in digest.alternatives[0][0]


def test_operators_can_run_the_sweep_by_hand(proposal):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    with at(proposal.response_deadline + timedelta(minutes=1)):
        call_command("sweep_deadlines", stdout=out)
    assert out.getvalue() == "swept: 1 expired, 0 moved, 0 reminders, 2 outbox events delivered\n"
