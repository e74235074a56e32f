"""The access log: every look at a named person's decision by someone else is recorded, in a
log that cannot be rewritten, and the person's own looks are not."""

import pytest
from django.db import IntegrityError, InternalError, connection, transaction

from consent.access import reads_of, record_read, record_reads
from consent.models import AccessLogEntry, LedgerImmutableError
from tests.reports.conftest import add_people

pytestmark = pytest.mark.django_db


def test_a_read_is_logged_with_who_whose_where_and_why(hr_user, employee):
    entry = record_read(viewer=hr_user, subject=employee.user, page="/x/", purpose="audit")

    assert (entry.viewer, entry.subject, entry.page, entry.purpose) == (
        hr_user,
        employee.user,
        "/x/",
        "audit",
    )
    assert entry.at is not None and entry.channel == AccessLogEntry.Channel.WEB
    assert list(reads_of(employee.user)) == [entry]


def test_reading_ones_own_data_is_not_logged(employee):
    assert record_read(viewer=employee.user, subject=employee.user, page="/x/") is None
    assert record_reads(viewer=employee.user, subjects=[employee.user.pk], page="/x/") == []
    assert not AccessLogEntry.objects.exists()


def test_entries_cannot_be_changed_or_deleted_by_the_model(hr_user, employee):
    entry = record_read(viewer=hr_user, subject=employee.user, page="/x/")
    entry.purpose = "rewritten"
    with pytest.raises(LedgerImmutableError):
        entry.save()
    with pytest.raises(LedgerImmutableError):
        entry.delete()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE consent_accesslogentry SET purpose = 'rewritten'",
        "DELETE FROM consent_accesslogentry",
    ],
)
def test_the_database_refuses_to_change_or_delete_an_entry(hr_user, employee, sql):
    record_read(viewer=hr_user, subject=employee.user, page="/x/")
    refused = pytest.raises((IntegrityError, InternalError), match="append-only")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert AccessLogEntry.objects.get().purpose == ""
    with refused, transaction.atomic():  # a queryset deletes in SQL, past the model's guard
        AccessLogEntry.objects.all().delete()


def test_the_drill_down_asks_why_and_logs_nothing_until_told(
    hr_client, campaign, destination, platform
):
    add_people(campaign, destination, [(platform, "Software Engineer", "opted_out", 6)])
    response = hr_client.get(f"/hr/dashboards/campaigns/{campaign.pk}/people/")
    assert response.status_code == 200
    assert b"Why do you need to see names?" in response.content
    assert b"Person " not in response.content
    assert not AccessLogEntry.objects.exists()


def test_the_drill_down_logs_one_entry_per_person_shown_with_the_page_and_the_reason(
    hr_client, hr_user, campaign, destination, platform, payments
):
    shown = add_people(campaign, destination, [(platform, "Software Engineer", "opted_out", 6)])
    add_people(campaign, destination, [(payments, "Software Engineer", "opted_in", 7)])
    path = f"/hr/dashboards/campaigns/{campaign.pk}/people/?category=opted_out&purpose=placement"

    response = hr_client.get(path)

    assert response.status_code == 200
    names = {p.employee.name for p in shown}
    assert all(name.encode() in response.content for name in names)
    entries = list(AccessLogEntry.objects.all())
    assert {e.subject_id for e in entries} == {p.employee.user_id for p in shown}
    assert {(e.viewer_id, e.page, e.purpose) for e in entries} == {(hr_user.pk, path, "placement")}


def test_the_drill_down_logs_only_the_page_of_people_shown(
    hr_client, campaign, destination, platform
):
    add_people(campaign, destination, [(platform, "Software Engineer", "opted_out", 60)])
    base = f"/hr/dashboards/campaigns/{campaign.pk}/people/?purpose=audit"
    hr_client.get(base)
    assert AccessLogEntry.objects.count() == 50
    hr_client.get(f"{base}&page=2")
    assert AccessLogEntry.objects.count() == 60
    assert AccessLogEntry.objects.filter(page__endswith="page=2").count() == 10
