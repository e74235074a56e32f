"""The HR workspace in the browser's terms: who lands where, 403 for everyone but HR, and the
campaign pages driven through their forms."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from assignments import emails, tasks
from assignments.models import Campaign, PlacementRequest, Proposal
from assignments.services import (
    choose_audience,
    opt_out,
    propose_retroactive_confirmation,
    send_campaign,
)
from notifications.models import Notification
from tests.conftest import WEB
from tests.hr.conftest import ROLE

pytestmark = pytest.mark.django_db

HR_PAGES = [
    ("hr:workspace", []),
    ("hr:campaigns", []),
    ("hr:campaign_new", []),
    ("hr:campaign", ["campaign"]),
    ("hr:campaign_edit", ["campaign"]),
    ("hr:campaign_audience", ["campaign"]),
    ("hr:campaign_preview", ["campaign"]),
    ("hr:campaign_progress", ["campaign"]),
    ("hr:retroactive_import", []),
    ("hr:placements", []),
    ("hr:offer_placement", [1]),
    ("hr:leave", []),
    ("hr:manager_suggestions", []),
]


def url_of(name, args, campaign):
    return reverse(name, args=[campaign.pk if a == "campaign" else a for a in args])


def test_each_role_lands_on_its_own_page(client, hr_user, manager, employee):
    for user, landing in (
        (hr_user, "/hr/"),
        (manager.user, "/team/proposals/"),
        (employee.user, "/inbox/"),
    ):
        client.force_login(user)
        response = client.get("/", follow=True)
        assert response.redirect_chain[-1][0] == landing
        assert response.status_code == 200
    client.logout()
    assert client.get("/").status_code == 200  # the public home page


@pytest.mark.parametrize(("name", "args"), HR_PAGES)
def test_nobody_but_hr_opens_an_hr_page(client, manager, employee, campaign, name, args):
    url = url_of(name, args, campaign)
    for user in (manager.user, employee.user):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.post(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302  # to sign in


def test_sending_is_refused_to_non_hr_and_nothing_is_sent(client, manager, campaign, employee):
    client.force_login(manager.user)
    assert client.post(reverse("hr:campaign_send", args=[campaign.pk])).status_code == 403
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.DRAFT


def test_hr_needs_no_admin_rights_and_sees_the_workspace_navigation(hr_client, hr_user):
    assert not hr_user.is_staff and not hr_user.is_superuser
    page = hr_client.get("/hr/").content.decode()
    for link in ("/hr/campaigns/", "/hr/dashboards/", "/hr/placements/", "/hr/leave/"):
        assert f'href="{link}"' in page


def test_hr_notifications_lead_to_the_queue_and_the_workspace(employee, payments, hr_user):
    confirmation = propose_retroactive_confirmation(
        employee=employee,
        previous_team=payments,
        actor=hr_user,
        role_description=ROLE,
        moved_on=timezone.localdate() - timedelta(days=300),
        response_deadline=timezone.now() + timedelta(days=10),
    )
    opt_out(proposal=confirmation, actor=employee.user, context=WEB, team_preferences=[payments])
    notice = Notification.objects.get(kind=Notification.Kind.PLACEMENT_REQUESTED)
    assert notice.url == "/hr/placements/"
    emails.hr_digest()
    assert Notification.objects.get(kind=Notification.Kind.HR_DIGEST).url == "/hr/"


def test_hr_creates_a_campaign_chooses_by_file_previews_and_sends(
    hr_client, employee, pat, ai_team, django_capture_on_commit_callbacks
):
    response = hr_client.post(
        "/hr/campaigns/new/",
        {
            "name": "Evaluation drive",
            "description": "Staffing the evaluation of our assistants.",
            "target_teams": [ai_team.pk],
            "role_description": ROLE,
            "data_labelling_percent": 40,
            # Within the horizon for start dates (PORTAL_MAX_HORIZON_DAYS).
            "start_date": (timezone.localdate() + timedelta(days=120)).isoformat(),
            "response_working_days": 10,
            "terms_version": "1",
            "accountable_owner": "",
            "assessment_kind": "",
            "assessment_reference": "",
        },
    )
    campaign = Campaign.objects.get(name="Evaluation drive")
    assert response.url == f"/hr/campaigns/{campaign.pk}/audience/"
    employee.external_id = "E-EVE"
    employee.save(update_fields=["external_id"])
    upload = SimpleUploadedFile("people.csv", b"external_id\nE-EVE\nE-PAT\n", "text/csv")
    response = hr_client.post(
        f"/hr/campaigns/{campaign.pk}/audience/",
        {"source": "csv", "csv-file": upload, "csv-to_team": ai_team.pk},
    )
    assert response.url == f"/hr/campaigns/{campaign.pk}/preview/"
    preview = hr_client.get(response.url).content.decode()
    assert "About 40% of this work is data labelling." in preview
    assert "Name the person accountable for this campaign." in preview  # not sendable yet
    refused = hr_client.post(f"/hr/campaigns/{campaign.pk}/send/")
    assert refused.url == f"/hr/campaigns/{campaign.pk}/preview/"
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.DRAFT

    hr_client.post(
        f"/hr/campaigns/{campaign.pk}/edit/",
        {
            "name": "Evaluation drive",
            "description": "Staffing the evaluation of our assistants.",
            "target_teams": [ai_team.pk],
            "role_description": ROLE,
            "data_labelling_percent": 40,
            # Within the horizon for start dates (PORTAL_MAX_HORIZON_DAYS).
            "start_date": (timezone.localdate() + timedelta(days=120)).isoformat(),
            "response_working_days": 10,
            "terms_version": "1",
            "accountable_owner": "Dana Director",
            "assessment_kind": "impact_assessment",
            "assessment_reference": "DPIA-7",
        },
    )
    campaign.refresh_from_db()
    assert campaign.audience  # still chosen: the destination is still a target
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = hr_client.post(f"/hr/campaigns/{campaign.pk}/send/")
    assert response.url == f"/hr/campaigns/{campaign.pk}/"
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.QUEUED
    assert len(callbacks) == 1  # the background send, queued on commit
    assert not Proposal.objects.exists()
    assert tasks.send_campaign(campaign.pk) == 2
    page = hr_client.get(f"/hr/campaigns/{campaign.pk}/").content.decode()
    assert "2 proposals created." in page
    fragment = hr_client.get(f"/hr/campaigns/{campaign.pk}/progress/", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200  # notices still pending: keep polling
    assert "0 of 2 notifications out." in fragment.content.decode()


def test_a_bad_file_is_shown_row_by_row_and_nothing_changes(hr_client, campaign, pat):
    upload = SimpleUploadedFile("people.csv", b"E-PAT\nE-NOPE\n\nE-PAT\n", "text/csv")
    response = hr_client.post(
        f"/hr/campaigns/{campaign.pk}/audience/", {"source": "csv", "csv-file": upload}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "The file was refused: 2 rows have a problem" in page
    assert "No employee has this id." in page and "Listed twice: already on row 1." in page
    campaign.refresh_from_db()
    assert campaign.audience is None


def test_the_progress_fragment_tells_htmx_to_stop_once_every_notice_is_out(
    hr_client, campaign, employee, ai_team, hr_user
):
    choose_audience(
        campaign=campaign, employees=[employee], to_team=ai_team, label="x", actor=hr_user
    )
    send_campaign(campaign=campaign, actor=hr_user)
    Notification.objects.update(email_state=Notification.EmailState.SENT)
    url = f"/hr/campaigns/{campaign.pk}/progress/"
    assert hr_client.get(url, HTTP_HX_REQUEST="true").status_code == 286
    assert hr_client.get(url).status_code == 200  # a plain reload
    assert "hx-trigger" not in hr_client.get(f"/hr/campaigns/{campaign.pk}/").content.decode()


def test_hr_marks_someone_on_leave_and_back(hr_client, employee):
    response = hr_client.post("/hr/leave/", {"action": "start", "person": employee.email})
    assert response.status_code == 302
    employee.refresh_from_db()
    assert employee.on_leave
    assert employee.name in hr_client.get("/hr/leave/").content.decode()
    hr_client.post("/hr/leave/", {"action": "end", "employee": employee.pk})
    employee.refresh_from_db()
    assert not employee.on_leave
    unknown = hr_client.post("/hr/leave/", {"action": "start", "person": "nobody@x.test"})
    assert unknown.status_code == 400
    assert "Nobody has this email or employee id." in unknown.content.decode()


def test_the_queue_is_empty_without_requests(hr_client):
    assert "Nobody is waiting for a placement." in hr_client.get("/hr/placements/").content.decode()
    assert not PlacementRequest.objects.exists()
