import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import formats, translation

from assignments import emails
from assignments.services import opt_in, opt_out, propose_retroactive_confirmation, undraft
from notifications.models import Notification
from notifications.tasks import send_notification_email
from tests.assignments.helpers import ROLE
from tests.conftest import WEB
from tests.lifecycle.conftest import queued_task_names, run_callbacks, send_all_pending

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
MEMO = (
    "You were moved to Platform by memo, without being asked. The work is the same as before: "
    "platform engineering, with no data labelling."
)


def propose(employee, manager, ai_team, deadline, start_date):
    from assignments.services import propose_transfer

    return propose_transfer(
        employee=employee,
        to_team=ai_team,
        actor=manager.user,
        role_description=ROLE,
        data_labelling_percent=40,
        start_date=start_date,
        response_deadline=deadline,
    )


def test_the_arrival_task_is_queued_only_when_the_proposal_commits(
    employee, manager, ai_team, deadline, start_date, broker, django_capture_on_commit_callbacks
):
    broker.delete("celery")
    with django_capture_on_commit_callbacks() as callbacks:
        proposal = propose(employee, manager, ai_team, deadline, start_date)
        assert queued_task_names(broker) == []  # nothing reaches the broker before commit
    assert len(callbacks) == 1
    run_callbacks(callbacks)  # what COMMIT does
    # The notice row was written with the proposal; its email is queued on commit.
    assert queued_task_names(broker) == ["notifications.tasks.queue_emails"]
    broker.delete("celery")
    assert proposal.pk


def test_a_rolled_back_proposal_queues_nothing(
    employee, manager, ai_team, deadline, start_date, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        propose(employee, manager, ai_team, deadline, start_date)
        raise RuntimeError("the request failed after the service call")
    assert callbacks == []


def test_the_arrival_notice_is_made_and_emailed_once_however_often_the_tasks_run(
    proposal, employee, mailoutbox
):
    emails.proposals_arrived([proposal], proposer=proposal.proposed_by)  # a producer run twice
    [notification] = Notification.objects.filter(kind=Kind.PROPOSAL_ARRIVED)
    assert notification.recipient == employee.user
    assert send_notification_email(notification.pk) == "sent"
    assert send_notification_email(notification.pk) == "already"
    [mail] = mailoutbox
    assert mail.to == ["eve@example.test"]
    assert mail.subject.startswith("New proposal: join Applied AI?")
    assert "nothing changes unless you opt in" in mail.body
    html = mail.alternatives[0][0]
    assert "<strong>Applied AI</strong>" in html


def test_times_in_emails_are_shown_in_the_employees_time_zone(proposal, employee, mailoutbox):
    employee.time_zone = "America/New_York"
    employee.save(update_fields=["time_zone"])
    send_all_pending()
    local = proposal.response_deadline.astimezone(
        __import__("zoneinfo").ZoneInfo("America/New_York")
    )
    with translation.override("en"):
        assert formats.date_format(local, "DATETIME_FORMAT") in mailoutbox[0].body  # never UTC
    assert "Times are shown in America/New_York." in mailoutbox[0].body
    assert proposal.response_deadline.tzinfo is not None  # stored in UTC


def test_a_decision_sends_a_receipt_and_tells_the_proposer_without_the_private_reason(
    proposal, employee, manager, mailoutbox, django_capture_on_commit_callbacks
):
    send_all_pending()  # the arrival notice, written with the proposal
    mailoutbox.clear()
    with django_capture_on_commit_callbacks() as callbacks:
        record = opt_out(
            proposal=proposal,
            actor=employee.user,
            context=WEB,
            private_reason="My manager pressured me into this.",
        )
    assert len(callbacks) == 1  # the receipt's and the proposer's emails, queued on commit
    emails.decision_receipt(record, proposal)  # a producer run twice adds nothing
    send_all_pending()
    by_recipient = {m.to[0]: m for m in mailoutbox}
    assert len(mailoutbox) == 2
    receipt = by_recipient["eve@example.test"]
    assert receipt.subject == "Your receipt: you opted out of joining Applied AI"
    assert record.hash in receipt.body
    assert "Any reason you gave is private" in receipt.body
    to_proposer = by_recipient["morgan@example.test"]
    assert "Eve Employee" in to_proposer.subject
    assert "pressured" not in to_proposer.body
    assert "pressured" not in to_proposer.alternatives[0][0]
    proposer_row = Notification.objects.get(kind=Kind.PROPOSAL_DECIDED)
    assert "pressured" not in str(proposer_row.context)


def test_hr_hears_of_a_new_placement_request(
    employee,
    manager,
    platform,
    payments,
    hr_user,
    deadline,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    confirmation = propose_retroactive_confirmation(
        employee=employee,
        previous_team=payments,
        actor=hr_user,
        role_description=MEMO,
        moved_on=deadline.date(),
        response_deadline=deadline,
    )
    with django_capture_on_commit_callbacks() as callbacks:
        record = opt_out(
            proposal=confirmation, actor=employee.user, context=WEB, team_preferences=[payments]
        )
    assert len(callbacks) == 2  # the receipt's and HR's emails
    assert record.action == "opt_out"
    send_all_pending()
    # Harper also proposed the confirmation, so she gets the decision notice as well.
    [to_hr] = [m for m in mailoutbox if m.subject.startswith("New placement request")]
    assert to_hr.to == ["harper@example.test"]
    assert to_hr.subject == "New placement request (preferential): Eve Employee"
    assert "1. Payments" in to_hr.body


def test_an_undraft_after_the_move_sends_a_receipt(
    employee, manager, platform, payments, hr_user, deadline, mailoutbox
):
    confirmation = propose_retroactive_confirmation(
        employee=employee,
        previous_team=payments,
        actor=hr_user,
        role_description=MEMO,
        moved_on=deadline.date(),
        response_deadline=deadline,
    )
    opt_in(
        proposal=confirmation,
        actor=employee.user,
        terms_sha256=confirmation.terms_sha256,
        context=WEB,
    )
    undraft(proposal=confirmation, actor=employee.user, context=WEB, team_preferences=[payments])
    assert Notification.objects.filter(
        kind=Kind.DECISION_RECEIPT, recipient=employee.user, context__action="undraft"
    ).exists()


def test_the_bell_counts_unread_and_marking_read_is_for_the_recipient_only(
    client, proposal, employee, outsider
):
    notification = Notification.objects.get()
    client.force_login(outsider.user)
    response = client.post(reverse("notifications:mark_read", args=[notification.pk]))
    assert response.status_code == 404
    client.force_login(employee.user)
    page = client.get(reverse("notifications:list"))
    assert page.status_code == 200
    assert "New proposal: join Applied AI?" in page.content.decode()
    assert page.context["bell_unread_count"]() == 1
    client.post(reverse("notifications:mark_read", args=[notification.pk]))
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert client.get(reverse("notifications:list")).context["bell_unread_count"]() == 0


def test_the_bell_snippet_renders_the_unread_count(rf, proposal, employee):
    from django.template.loader import render_to_string

    from notifications.context_processors import bell

    request = rf.get("/")
    request.user = employee.user
    html = render_to_string("notifications/_bell.html", {"user": employee.user, **bell(request)})
    assert "Notifications, 1 unread" in html


def test_expiry_emails_are_fanned_out_after_the_sweep_commits(
    proposal, broker, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from assignments.services import expire_overdue_proposals
    from notifications.tasks import queue_emails_created_at

    broker.delete("celery")
    after = proposal.response_deadline + timedelta(minutes=1)
    with django_capture_on_commit_callbacks() as callbacks:
        assert expire_overdue_proposals(now=after) == [proposal.pk]
    assert queued_task_names(broker) == []
    run_callbacks(callbacks)
    assert queued_task_names(broker) == ["notifications.tasks.queue_emails_created_at"]
    broker.delete("celery")
    assert queue_emails_created_at(after.isoformat()) == 2  # employee and proposer
    assert queued_task_names(broker) == ["notifications.tasks.send_notification_email"] * 2
    broker.delete("celery")


def test_an_email_whose_queue_message_was_lost_is_queued_again_later(proposal, broker):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from notifications.tasks import requeue_pending_emails

    # The proposal fixture's on-commit callbacks never ran: its email's queue message is "lost".
    broker.delete("celery")
    assert requeue_pending_emails() == 0  # too fresh: it may still be on its way
    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=False):
        assert requeue_pending_emails() == 1
    assert queued_task_names(broker) == ["notifications.tasks.send_notification_email"]
    broker.delete("celery")


def test_the_in_app_list_shows_times_in_the_employees_time_zone(client, proposal, employee):
    employee.time_zone = "Asia/Tokyo"
    employee.save(update_fields=["time_zone"])
    client.force_login(employee.user)
    page = client.get(reverse("notifications:list")).content.decode()
    assert "JST" in page and "UTC" not in page.split("<main", 1)[1].split("</main>", 1)[0]


def test_the_list_costs_the_same_queries_for_one_notification_or_five(
    client, employee, manager, ai_team, payments, platform, deadline, start_date
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from assignments.services import propose_transfer
    from people.models import Team

    client.force_login(employee.user)
    counts = []
    teams = [ai_team, payments] + [
        Team.objects.create(name=f"Team {i}", slug=f"team-{i}") for i in range(3)
    ]
    for batch in ([teams[0]], teams[1:]):
        for team in batch:
            propose_transfer(
                employee=employee,
                to_team=team,
                actor=manager.user,
                role_description=ROLE,
                start_date=start_date,
                response_deadline=deadline,
            )
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("notifications:list")).status_code == 200
        counts.append(len(queries))
    assert Notification.objects.count() == 5
    assert counts[0] == counts[1], counts  # no query per row
