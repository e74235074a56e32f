"""The outbox: written with the change, delivered from the table, never from a lost callback."""

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction

from assignments.models import Move
from assignments.services import apply_move, opt_in
from notifications.models import Notification
from outbox.models import OutboxEvent
from outbox.services import dispatch_pending
from tests.conftest import WEB

pytestmark = pytest.mark.django_db


def moves():
    """The move's own events (proposals and decisions write theirs too, for webhooks)."""
    return OutboxEvent.objects.filter(topic="move.effective")


@pytest.fixture
def accepted(proposal, employee):
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    return proposal


def on_start_date(proposal):
    return time_machine.travel(proposal.start_date + timedelta(hours=9), tick=False)


def test_a_rolled_back_move_leaves_nothing_to_send(accepted):
    with on_start_date(accepted), pytest.raises(RuntimeError), transaction.atomic():
        assert apply_move(proposal=accepted) is not None
        assert moves().count() == 1
        raise RuntimeError("crash before commit")
    assert not Move.objects.exists()
    assert not moves().exists()
    dispatch_pending()  # the earlier events (proposed, opted in) only
    assert not moves().exists()
    assert not Notification.objects.filter(kind=Notification.Kind.MOVE_EFFECTIVE).exists()


def test_an_event_committed_with_the_move_is_delivered_even_if_no_task_was_ever_queued(
    accepted, django_capture_on_commit_callbacks
):
    # The move commits; no callback is run (as if the process died right after COMMIT).
    dispatch_pending()  # the proposal's and the opt-in's own events, before the move
    with django_capture_on_commit_callbacks(execute=False), on_start_date(accepted):
        move = apply_move(proposal=accepted)
    event = moves().get()
    assert event.payload["move_id"] == move.pk and event.dispatched_at is None
    assert dispatch_pending() == 1
    assert dispatch_pending() == 0  # a second dispatcher, or the next minute: nothing more
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert Notification.objects.filter(kind=Notification.Kind.MOVE_EFFECTIVE).count() == 2


def test_a_failing_handler_leaves_the_event_for_the_next_run(accepted, settings):
    settings.OUTBOX_HANDLERS = {"move.effective": ["tests.lifecycle.test_outbox.broken_handler"]}
    dispatch_pending()  # the proposal's and the opt-in's own events, before the move
    with on_start_date(accepted):
        apply_move(proposal=accepted)
    assert dispatch_pending() == 0
    event = moves().get()
    assert event.dispatched_at is None and event.attempts == 1
    assert "handler is down" in event.last_error
    settings.OUTBOX_HANDLERS = {"move.effective": ["assignments.emails.move_effective"]}
    assert dispatch_pending() == 1


def broken_handler(event):
    Notification.objects.create(recipient_id=1, kind="x", dedupe_key="half-done")  # rolled back
    raise ConnectionError("handler is down")
