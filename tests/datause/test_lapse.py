"""Consent lapses after the purpose's validity period: a reminder before (once per person and
opt-in, however often the periodic task runs), renewal from then on, and not allowed after."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from datause import services, tasks
from datause.check import add_months, check
from datause.emails import LAPSE_REMINDER
from notifications.models import Notification
from notifications.tasks import send_notification_email
from portal.celery import app
from tests.conftest import WEB, make_person
from tests.datause.conftest import make_purpose

pytestmark = pytest.mark.django_db

START = timezone.now().replace(microsecond=0) - timedelta(days=400)


def opt_in(purpose, person):
    return services.opt_in(
        purpose=purpose, actor=person.user, terms_sha256=purpose.terms_sha256, context=WEB
    )


def reminders():
    return Notification.objects.filter(kind=LAPSE_REMINDER)


@pytest.fixture
def opted_in(purpose, eve):
    with time_machine.travel(START, tick=False):
        record = opt_in(purpose, eve)
    return record, add_months(record.recorded_at, 12)


def test_the_reminder_goes_once_30_days_before_the_lapse_however_often_the_task_runs(
    opted_in, eve, mailoutbox
):
    record, until = opted_in
    with time_machine.travel(until - timedelta(days=31), tick=False):
        assert tasks.remind_before_lapse() == 0  # not yet
    with time_machine.travel(until - timedelta(days=29), tick=False):
        assert tasks.remind_before_lapse() == 1
        assert tasks.remind_before_lapse() == 0  # the second run sends nothing
    with time_machine.travel(until - timedelta(days=2), tick=False):
        assert tasks.remind_before_lapse() == 0
    [reminder] = reminders()
    assert reminder.recipient_id == eve.user_id
    assert reminder.dedupe_key == f"{LAPSE_REMINDER}:{record.pk}"
    send_notification_email(reminder.pk)
    [mail] = mailoutbox
    assert mail.to == [eve.email]
    assert 'Your consent to "Keystroke capture for model training" lapses on' in mail.subject
    assert "If you do nothing, collection stops when it lapses" in mail.body
    assert "/privacy/purposes/" in mail.body


def test_lapsed_means_not_allowed_and_the_privacy_page_says_so(opted_in, eve, client):
    _record, until = opted_in
    with time_machine.travel(until - timedelta(seconds=1), tick=False):
        assert check("E-1001", "keystrokes")["allowed"] is True
    with time_machine.travel(until, tick=False):
        assert check("E-1001", "keystrokes")["allowed"] is False
        assert tasks.remind_before_lapse() == 0  # too late for a reminder: it has lapsed
        client.force_login(eve.user)
        page = client.get("/privacy/purposes/").content.decode()
        assert "Your consent lapsed: nothing is collected until you decide again." in page


def test_once_the_reminder_is_due_the_person_can_renew_and_is_reminded_again_later(
    opted_in, purpose, eve
):
    record, until = opted_in
    with time_machine.travel(until - timedelta(days=100), tick=False):
        assert opt_in(purpose, eve) == record  # long before: a repeat writes nothing
    with time_machine.travel(until - timedelta(days=20), tick=False):
        tasks.remind_before_lapse()
        renewed = opt_in(purpose, eve)
        assert renewed != record
    new_until = add_months(renewed.recorded_at, 12)
    with time_machine.travel(until + timedelta(days=1), tick=False):
        assert check("E-1001", "keystrokes")["allowed"] is True  # renewed, not lapsed
    with time_machine.travel(new_until - timedelta(days=10), tick=False):
        assert tasks.remind_before_lapse() == 1
    assert sorted(reminders().values_list("dedupe_key", flat=True)) == sorted(
        [f"{LAPSE_REMINDER}:{record.pk}", f"{LAPSE_REMINDER}:{renewed.pk}"]
    )


def test_no_reminder_after_a_withdrawal_a_new_version_or_for_someone_who_left(
    purpose, eve, manager
):
    left = make_person("left@x.test", "Left Since", manager.team)
    other = make_purpose(manager, slug="other")
    with time_machine.travel(START, tick=False):
        opt_in(purpose, eve)
        opt_in(purpose, left)
        opt_in(other, eve)
    with time_machine.travel(START + timedelta(days=1), tick=False):
        services.opt_out(
            purpose=other, actor=eve.user, terms_sha256=other.terms_sha256, context=WEB
        )
        services.publish_purpose(
            purpose=services.draft_next_version(purpose=purpose), actor=manager.user
        )
    left.is_active = False
    left.save(update_fields=["is_active"])
    with time_machine.travel(add_months(START, 12) - timedelta(days=5), tick=False):
        assert tasks.remind_before_lapse() == 0
    assert not reminders().exists()


def test_a_short_validity_is_reminded_half_way(manager, eve):
    monthly = make_purpose(manager, slug="monthly", validity_months=1)
    with time_machine.travel(START, tick=False):
        record = opt_in(monthly, eve)
    until = add_months(record.recorded_at, 1)
    halfway = record.recorded_at + (until - record.recorded_at) / 2
    with time_machine.travel(halfway - timedelta(hours=1), tick=False):
        assert tasks.remind_before_lapse() == 0
    with time_machine.travel(halfway, tick=False):
        assert tasks.remind_before_lapse() == 1


def test_reminding_takes_the_same_queries_for_one_person_and_for_many(purpose, eve, manager):
    def run(people) -> int:
        with time_machine.travel(START, tick=False):
            for person in people:
                opt_in(purpose, person)
        with (
            time_machine.travel(add_months(START, 12) - timedelta(days=3), tick=False),
            CaptureQueriesContext(connection) as queries,
            transaction.atomic(),
        ):
            services.remind_before_lapse()
        return len([q for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))])

    one = run([eve])
    many = run([make_person(f"m{n}@x.test", f"M {n}", manager.team) for n in range(6)])
    # The purposes, the opt-ins that are due, the existing reminders' keys, the insert, and
    # the new reminders' ids (notifications.services.notify_many).
    assert many == one == 5
    assert reminders().count() == 7


def test_the_reminder_runs_every_hour_from_the_beat_schedule():
    entry = app.conf.beat_schedule["remind-before-data-use-lapse"]
    assert entry["task"] == "datause.tasks.remind_before_lapse"
    assert entry["schedule"].minute == {17}


def test_collectors_hear_of_a_lapse_once(opted_in, eve):
    from outbox.models import OutboxEvent

    record, until = opted_in
    with time_machine.travel(until - timedelta(minutes=1), tick=False):
        assert tasks.announce_lapses() == 0  # still allowed
    with time_machine.travel(until + timedelta(minutes=5), tick=False):
        assert tasks.announce_lapses() == 1
        tasks.announce_lapses()  # a second run writes nothing new
    [event] = OutboxEvent.objects.filter(key__startswith="consent.changed:lapsed:")
    assert event.payload | {"route_to_endpoints": None} == {
        "purpose": "keystrokes",
        "purpose_version": 1,
        "collecting_system": "ai-telemetry",
        "employee": "E-1001",
        "allowed": False,
        "record_id": record.pk,
        "decided_at": record.recorded_at.isoformat(),
        "valid_until": until.isoformat(),
        "cause": "lapsed",
        "route_to_endpoints": None,
        "about_user_id": record.subject_id,  # whose access log names each receiver
    }
    with time_machine.travel(until + timedelta(days=8), tick=False):
        assert tasks.announce_lapses() == 0  # long past: told already, not again
