"""Campaigns: accountability before sending, the audience, the preview's exact words, one send
in one transaction (and only one), and the send's progress."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from assignments import hr_selectors, tasks
from assignments.models import Campaign, Proposal, ProposalEvent
from assignments.services import (
    RowsRejected,
    choose_audience,
    choose_audience_from_csv,
    preview_document,
    propose_transfer,
    queue_campaign,
    readiness_errors,
    send_campaign,
    update_campaign,
)
from notifications.models import Notification
from notifications.tasks import send_notification_email
from people.models import Team
from tests.conftest import make_person
from tests.hr.conftest import ROLE

pytestmark = pytest.mark.django_db


def audience(campaign, people, to_team, hr_user):
    return choose_audience(
        campaign=campaign, employees=people, to_team=to_team, label="test", actor=hr_user
    )


def test_a_campaign_without_an_owner_and_an_assessment_cannot_be_sent(
    campaign, employee, ai_team, hr_user
):
    audience(campaign, [employee], ai_team, hr_user)
    update_campaign(
        campaign=campaign,
        actor=hr_user,
        target_teams=[ai_team],
        accountable_owner="",
        assessment_reference="",
    )
    campaign.refresh_from_db()
    problems = readiness_errors(campaign)
    assert "Name the person accountable for this campaign." in problems
    assert any("works-council consultation" in p for p in problems)
    with pytest.raises(Exception, match="accountable"):
        queue_campaign(campaign=campaign, actor=hr_user)
    with pytest.raises(Exception, match="accountable"):
        send_campaign(campaign=campaign, actor=hr_user)
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.DRAFT
    assert not Proposal.objects.exists()
    # The database says the same, whatever code path tries it.
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(state=Campaign.State.SENT)


def test_choosing_a_team_skips_people_who_cannot_receive_it(
    campaign, employee, sam, manager, ai_team, platform, hr_user
):
    propose_transfer(
        employee=sam,
        to_team=ai_team,
        actor=manager.user,
        role_description=ROLE,
        start_date=campaign.start_date,
        response_deadline=timezone.now() + timedelta(days=10),
    )
    result = audience(campaign, [employee, sam, manager], ai_team, hr_user)
    assert result["chosen"] == 2  # Eve and Morgan
    assert result["skipped"] == ["Sam Second already has an open proposal to Applied AI."]
    campaign.refresh_from_db()
    assert sorted(pk for pk, _team in campaign.audience) == sorted([employee.pk, manager.pk])
    [row] = hr_selectors.audience_breakdown(campaign)
    assert (row.from_team, row.to_team, row.count) == ("Platform", "Applied AI", 2)


def test_a_csv_with_bad_rows_is_rejected_row_by_row_and_changes_nothing(
    campaign, employee, pat, ai_team, hr_user
):
    employee.external_id = "E-EVE"
    employee.save(update_fields=["external_id"])
    make_person("gone@example.test", "Gone Person", pat.team, external_id="E-GONE", is_active=False)
    rows = [
        (2, "E-EVE", ""),
        (3, "E-NOBODY", ""),
        (4, "E-EVE", ""),
        (5, "", ""),
        (6, "E-GONE", ""),
        (7, "E-PAT", "Payments"),
    ]
    with pytest.raises(RowsRejected) as rejected:
        choose_audience_from_csv(
            campaign=campaign, rows=rows, default_team=ai_team, label="file", actor=hr_user
        )
    assert [(e.row, e.value, e.reason) for e in rejected.value.errors] == [
        (3, "E-NOBODY", "No employee has this id."),
        (4, "E-EVE", "Listed twice: already on row 2."),
        (5, "", "No employee id on this row."),
        (6, "E-GONE", "Gone Person is no longer active."),
        (7, "E-PAT, Payments", "Payments is not one of this campaign's target teams."),
    ]
    campaign.refresh_from_db()
    assert campaign.audience is None
    assert not Proposal.objects.exists() and not Notification.objects.exists()


def test_the_preview_shows_exactly_the_words_each_person_receives(
    campaign, employee, pat, ai_team, hr_user
):
    audience(campaign, [employee, pat], ai_team, hr_user)
    campaign.refresh_from_db()
    previews = {
        person.pk: preview_document(campaign, employee=person, to_team=ai_team, proposer=hr_user)
        for person in (employee, pat)
    }
    assert previews[employee.pk].sha256 != previews[pat.pk].sha256  # "From team" differs
    send_campaign(campaign=campaign, actor=hr_user)
    for proposal in Proposal.objects.filter(campaign=campaign):
        assert proposal.terms_sha256 == previews[proposal.employee_id].sha256
    content = previews[employee.pk].content
    assert "About 40% of this work is data labelling." in content["work"]
    assert campaign.description in content["work"]


def test_sending_creates_every_proposal_at_once_and_a_second_send_does_nothing(
    campaign, employee, sam, pat, ai_team, hr_user, django_capture_on_commit_callbacks
):
    audience(campaign, [employee, sam, pat], ai_team, hr_user)
    assert queue_campaign(campaign=campaign, actor=hr_user) is True
    assert queue_campaign(campaign=campaign, actor=hr_user) is False  # a double click
    assert tasks.send_campaign(campaign.pk) == 3
    assert tasks.send_campaign(campaign.pk) == 0  # a redelivered message
    assert send_campaign(campaign=campaign, actor=hr_user) is None
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.SENT and campaign.sent_by == hr_user
    proposals = Proposal.objects.filter(campaign=campaign)
    assert proposals.count() == 3
    assert set(proposals.values_list("state", flat=True)) == {Proposal.State.PENDING}
    assert ProposalEvent.objects.filter(proposal__campaign=campaign).count() == 3
    assert Notification.objects.filter(kind=Notification.Kind.PROPOSAL_ARRIVED).count() == 3


def test_a_send_anyone_cannot_receive_creates_nothing_and_says_why(
    campaign, employee, sam, ai_team, hr_user, manager
):
    audience(campaign, [employee, sam], ai_team, hr_user)
    queue_campaign(campaign=campaign, actor=hr_user)
    # Between choosing and sending, Sam was asked to join by his manager.
    propose_transfer(
        employee=sam,
        to_team=ai_team,
        actor=manager.user,
        role_description=ROLE,
        start_date=campaign.start_date,
        response_deadline=timezone.now() + timedelta(days=10),
    )
    assert tasks.send_campaign(campaign.pk) == 0
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.DRAFT
    assert campaign.send_errors == ["Sam Second already has an open proposal to Applied AI."]
    assert not Proposal.objects.filter(campaign=campaign).exists()


def test_several_target_teams_are_sent_together_all_or_nothing(
    campaign, employee, pat, ai_team, hr_user
):
    evals = Team.objects.create(name="Model Evaluation", slug="evals", kind="ai_initiative")
    update_campaign(campaign=campaign, actor=hr_user, target_teams=[ai_team, evals])
    choose_audience_from_csv(
        campaign=campaign,
        rows=[(1, "E-PAT", "evals")],
        default_team=None,
        label="file",
        actor=hr_user,
    )
    campaign.refresh_from_db()
    campaign.audience.append([employee.pk, ai_team.pk])
    Campaign.objects.filter(pk=campaign.pk).update(audience=campaign.audience)
    proposals = send_campaign(campaign=campaign, actor=hr_user)
    assert sorted((p.employee.name, p.to_team.name) for p in proposals) == [
        ("Eve Employee", "Applied AI"),
        ("Pat Payments", "Model Evaluation"),
    ]


def test_the_progress_counts_the_notices_still_to_go_out(
    campaign, employee, pat, ai_team, hr_user, mailoutbox
):
    audience(campaign, [employee, pat], ai_team, hr_user)
    campaign.refresh_from_db()
    before = hr_selectors.campaign_progress(campaign)
    assert (before.proposals, before.notices, before.done) == (0, 0, False)
    send_campaign(campaign=campaign, actor=hr_user)
    campaign.refresh_from_db()
    during = hr_selectors.campaign_progress(campaign)
    assert (during.proposals, during.pending, during.sent, during.done) == (2, 2, 0, False)
    first = Notification.objects.filter(kind=Notification.Kind.PROPOSAL_ARRIVED).first()
    send_notification_email(first.pk)
    half = hr_selectors.campaign_progress(campaign)
    assert (half.pending, half.sent, half.done) == (1, 1, False)
    for notification in Notification.objects.filter(email_state="pending"):
        send_notification_email(notification.pk)
    after = hr_selectors.campaign_progress(campaign)
    assert (after.sent, after.pending, after.done) == (2, 0, True)
    assert len(mailoutbox) == 2


def test_a_sent_campaign_cannot_be_edited(campaign, employee, ai_team, hr_user):
    audience(campaign, [employee], ai_team, hr_user)
    send_campaign(campaign=campaign, actor=hr_user)
    with pytest.raises(Exception, match="already sent"):
        update_campaign(campaign=campaign, actor=hr_user, target_teams=[ai_team], name="New")
