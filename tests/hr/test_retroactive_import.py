"""A CSV import of people moved before the portal existed: retroactive confirmations for all
of them, or, with any bad row, for none."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from assignments.models import Proposal
from notifications.models import Notification
from tests.conftest import make_person
from tests.hr.conftest import ROLE

pytestmark = pytest.mark.django_db


def post(hr_client, body: bytes):
    deadline = timezone.localtime(timezone.now() + timedelta(days=14))
    return hr_client.post(
        "/hr/retroactive/",
        {
            "file": SimpleUploadedFile("moved.csv", body, "text/csv"),
            "role_description": ROLE,
            "data_labelling_percent": 30,
            "response_deadline": deadline.strftime("%Y-%m-%dT%H:%M"),
        },
    )


@pytest.fixture
def people(platform, payments):
    return [
        make_person("a@example.test", "Ada Moved", platform, external_id="E-1"),
        make_person("b@example.test", "Ben Moved", platform, external_id="E-2"),
        make_person("c@example.test", "Cy Teamless", None, external_id="E-3"),
    ]


def test_every_row_becomes_a_retroactive_confirmation(hr_client, people, payments):
    response = post(
        hr_client, b"external_id,previous_team,moved_on\nE-1,payments,2025-03-01\nE-2,,2025-03-01\n"
    )
    assert response.status_code == 302
    confirmations = Proposal.objects.filter(kind=Proposal.Kind.RETROACTIVE).order_by("pk")
    assert [(p.employee.name, p.from_team, p.to_team.name) for p in confirmations] == [
        ("Ada Moved", payments, "Platform"),
        ("Ben Moved", None, "Platform"),
    ]
    assert Notification.objects.filter(kind=Notification.Kind.PROPOSAL_ARRIVED).count() == 2


def test_a_file_with_bad_rows_creates_nothing_and_names_each_row(hr_client, people):
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    body = (
        "external_id,previous_team,moved_on\n"
        "E-1,payments,2025-03-01\n"
        "E-9,payments,2025-03-01\n"
        "E-2,Nowhere,2025-03-01\n"
        "E-3,payments,2025-03-01\n"
        f"E-1,payments,{future}\n"
    ).encode()
    response = post(hr_client, body)
    assert response.status_code == 400
    errors = [(e.row, e.value, e.reason) for e in response.context["row_errors"]]
    assert errors == [
        (3, "E-9", "No employee has this id."),
        (4, "Nowhere", "No team has this name or id."),
        (5, "E-3", "Cy Teamless has no current team to confirm."),
        (6, "E-1", "Listed twice: already on row 2."),
    ]
    page = response.content.decode()
    assert "Nothing was created." in page
    assert not Proposal.objects.exists()  # row 2 was valid, and is not created either
    assert not Notification.objects.exists()


def test_a_file_that_is_not_text_is_refused_before_any_row(hr_client, people):
    response = post(hr_client, b"\xff\xfe\x00bad")
    assert response.status_code == 200
    assert "The file is not UTF-8 text" in response.content.decode()
    assert not Proposal.objects.exists()
