"""Publishing rules, version invalidation, lapse, only-the-person, receipts and the outbox."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from consent.models import ConsentRecord, TermsDocument
from datause import services
from datause.check import add_months, check
from datause.models import DataUsePurpose
from notifications.models import Notification
from outbox.models import OutboxEvent
from portal.errors import TransitionError
from tests.conftest import WEB
from tests.datause.conftest import make_purpose

pytestmark = pytest.mark.django_db


def opt_in(purpose, person, **kw):
    return services.opt_in(
        purpose=purpose, actor=person.user, terms_sha256=purpose.terms_sha256, context=WEB, **kw
    )


def opt_out(purpose, person, **kw):
    return services.opt_out(
        purpose=purpose, actor=person.user, terms_sha256=purpose.terms_sha256, context=WEB, **kw
    )


def test_a_purpose_without_owner_or_approval_is_not_published(manager):
    for missing in ({"owner": None}, {"approval_reference": ""}, {"approved_on": None}):
        draft = make_purpose(
            manager, slug=list(missing)[0].replace("_", "-"), publish=False, **missing
        )
        with pytest.raises(ValidationError):
            services.publish_purpose(purpose=draft, actor=manager.user)
        draft.refresh_from_db()
        assert draft.published_at is None and draft.terms_sha256 == ""


def test_the_database_refuses_a_published_purpose_without_approval(manager):
    draft = make_purpose(manager, publish=False, approval_reference="")
    with pytest.raises(IntegrityError), transaction.atomic():
        DataUsePurpose.objects.filter(pk=draft.pk).update(
            published_at=timezone.now(), terms_sha256="x" * 64
        )


def test_publishing_stores_the_words_and_twice_changes_nothing(purpose, manager):
    document = TermsDocument.objects.get(sha256=purpose.terms_sha256)
    assert document.content["facts"]["approval_reference"] == "DPO-2026-1"
    assert document.content["facts"]["owner"] == manager.name
    again = services.publish_purpose(purpose=purpose, actor=manager.user)
    assert again.published_at == purpose.published_at


def test_everyone_starts_as_not_consented(purpose, eve):
    answer = check("E-1001", purpose.slug)
    assert answer["allowed"] is False and answer["record_id"] is None


def test_opt_in_then_opt_out_is_one_action_each_and_pins_the_terms(purpose, eve):
    record = opt_in(purpose, eve)
    assert record.about_kind == "data_use" and record.about_id == "keystrokes:v1"
    assert record.terms_sha256 == purpose.terms_sha256
    assert check("E-1001", "keystrokes")["allowed"] is True
    assert opt_in(purpose, eve) == record  # a repeat writes nothing
    withdrawal = opt_out(purpose, eve)
    assert withdrawal.action == "withdraw"
    assert check("E-1001", "keystrokes") | {"decided_at": None} == {
        "allowed": False,
        "purpose_version": 1,
        "record_id": withdrawal.pk,
        "decided_at": None,
        "valid_until": None,
    }
    assert ConsentRecord.objects.filter(about_kind="data_use").count() == 2


def test_only_the_person_decides(purpose, eve, manager, hr_user):
    with pytest.raises(PermissionDenied):
        services.opt_in(
            purpose=purpose, actor=manager.user, terms_sha256=purpose.terms_sha256,
            context=WEB, employee=eve,
        )  # fmt: skip
    with pytest.raises(PermissionDenied):  # HR has no employee record of their own here
        services.opt_in(
            purpose=purpose, actor=hr_user, terms_sha256=purpose.terms_sha256, context=WEB
        )
    assert not ConsentRecord.objects.filter(about_kind="data_use").exists()


def test_words_that_were_never_stored_cannot_be_agreed_to(purpose, eve):
    with pytest.raises(ValidationError):
        services.opt_in(purpose=purpose, actor=eve.user, terms_sha256="0" * 64, context=WEB)


def test_a_new_version_makes_earlier_opt_ins_no_longer_count(purpose, eve, manager):
    opt_in(purpose, eve)
    v2 = services.draft_next_version(purpose=purpose, categories=["keystrokes", "audio"])
    assert check("E-1001", "keystrokes")["allowed"] is True  # a draft changes nothing
    v2 = services.publish_purpose(purpose=v2, actor=manager.user)
    answer = check("E-1001", "keystrokes")
    assert answer["allowed"] is False and answer["purpose_version"] == 2
    with pytest.raises(TransitionError):  # the old version can no longer be agreed to
        opt_in(purpose, eve)
    opt_in(v2, eve)
    assert check("E-1001", "keystrokes")["allowed"] is True


def test_an_older_version_cannot_be_published_after_a_newer_one(purpose, manager):
    v2 = services.draft_next_version(purpose=purpose)
    v3 = services.publish_purpose(
        purpose=services.draft_next_version(purpose=purpose), actor=manager.user
    )
    assert v3.version == 3
    with pytest.raises(TransitionError):
        services.publish_purpose(purpose=v2, actor=manager.user)


def test_consent_lapses_after_the_validity_period(purpose, eve):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        record = opt_in(purpose, eve)
    until = add_months(record.recorded_at, 12)
    with time_machine.travel(until - timedelta(seconds=1), tick=False):
        assert check("E-1001", "keystrokes")["allowed"] is True
    with time_machine.travel(until, tick=False):
        answer = check("E-1001", "keystrokes")
        assert answer["allowed"] is False and answer["valid_until"] == until
        renewed = opt_in(purpose, eve)  # a lapsed opt-in does not stand: opting in renews
        assert renewed != record and check("E-1001", "keystrokes")["allowed"] is True


def test_each_change_writes_a_consent_changed_event_without_a_reason(purpose, eve):
    with transaction.atomic():
        record = opt_in(purpose, eve)
    [event] = OutboxEvent.objects.filter(topic="consent.changed")
    assert event.payload == {
        "purpose": "keystrokes",
        "purpose_version": 1,
        "collecting_system": "ai-telemetry",
        "employee": "E-1001",
        "allowed": True,
        "record_id": record.pk,
        "decided_at": record.recorded_at.isoformat(),
        "valid_until": add_months(record.recorded_at, 12).isoformat(),
        # Where it goes: the purpose's own endpoints (none here), and whose access log names
        # each receiver; webhooks strips both keys from the message.
        "route_to_endpoints": [],
        "about_user_id": eve.user_id,
    }
    opt_out(purpose, eve)
    assert [e.payload["allowed"] for e in OutboxEvent.objects.filter(topic="consent.changed")] == [
        True,
        False,
    ]


def test_a_rolled_back_choice_leaves_no_event_and_no_receipt(purpose, eve):
    with pytest.raises(RuntimeError), transaction.atomic():
        opt_in(purpose, eve)
        raise RuntimeError
    assert not OutboxEvent.objects.filter(topic="consent.changed").exists()
    assert not Notification.objects.filter(kind="data_use_receipt").exists()


def test_the_person_gets_a_receipt_email(
    purpose, eve, mailoutbox, django_capture_on_commit_callbacks
):
    from notifications.tasks import send_notification_email

    with django_capture_on_commit_callbacks(execute=False):
        record = opt_in(purpose, eve)
    notification = Notification.objects.get(dedupe_key=f"data_use_receipt:{record.pk}")
    assert notification.recipient_id == eve.user_id
    send_notification_email(notification.pk)
    [mail] = mailoutbox
    assert mail.to == [eve.email]
    assert "you allowed" in mail.subject
    assert "Nobody in the company sees your choice" in mail.body
    assert f"/receipts/{record.pk}/" in mail.body
