"""/privacy/export.json: everything about the person in one file, nothing of anyone else's, and
every download logged where the person sees it."""

import json

import pytest
from django.db import IntegrityError, InternalError, connection, transaction

from consent.models import AccessLogEntry, ConsentRecord
from notifications.models import Notification
from privacy.models import DataExport, ExportLogImmutableError

pytestmark = pytest.mark.django_db


@pytest.fixture
def eve_and_oscar(employee, outsider, hr_user, make_data):
    eve = make_data(employee, 3, tag="eve")
    oscar = make_data(outsider, 2, proposer=hr_user, readers=[hr_user], tag="oscar")
    return eve, oscar


def _export(client):
    response = client.get("/privacy/export.json", REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 200
    return response, json.loads(response.content)


def test_the_export_is_one_json_download(client, employee):
    client.force_login(employee.user)
    response, data = _export(client)
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith('attachment; filename="my-data-')
    assert "no-store" in response["Cache-Control"]
    assert data["format"] == "consent-portal/privacy-export"
    assert data["person"]["email"] == employee.email


def test_the_export_holds_everything_about_the_person(client, employee, eve_and_oscar):
    eve, _oscar = eve_and_oscar
    client.force_login(employee.user)
    _response, data = _export(client)

    assert {p["id"] for p in data["proposals"]} == {p.pk for p in eve.proposals}
    mine = set(ConsentRecord.objects.filter(subject=employee.user).values_list("pk", flat=True))
    assert {d["record_id"] for d in data["decisions"]} == mine == {r.pk for r in eve.records}
    assert {d["private_reason"] for d in data["decisions"]} >= set(eve.reasons)
    assert {r["record_id"] for r in data["receipts"]} == mine
    for receipt in data["receipts"]:
        assert receipt["jws_url"].endswith(f"/receipts/{receipt['record_id']}.jws")
        assert client.get(receipt["json_url"]).status_code == 200  # each link opens
    consents = {c["purpose"]: c for c in data["data_use_consents"]}
    for purpose in eve.purposes:
        choice = consents[purpose.slug]
        assert choice["allowed"] and choice["version"] == purpose.version
        assert choice["valid_until"] > choice["decided_at"]
    notified = set(
        Notification.objects.filter(recipient=employee.user).values_list("pk", flat=True)
    )
    assert notified and {n["id"] for n in data["notifications"]} == notified
    read = set(AccessLogEntry.objects.filter(subject=employee.user).values_list("pk", flat=True))
    assert {r["id"] for r in data["access_log"]} == read == {r.pk for r in eve.reads}
    roles = {r["role"] for r in data["access_log"]}
    assert roles == {"HR", "Your manager", "API client (key “AI telemetry collector”)"}
    checks = {(c["purpose"], c["day"], c["checks"]) for c in data["consent_checks"]}
    assert checks == {(c.purpose_slug, c.day.isoformat(), c.checks) for c in eve.checks}
    logged = {e.pk for e in eve.exports} | {DataExport.objects.latest("id").pk}
    assert {e["id"] for e in data["exports"]} == logged


def test_the_export_holds_nothing_of_anyone_else(client, employee, outsider, eve_and_oscar):
    eve, oscar = eve_and_oscar
    client.force_login(employee.user)
    response, data = _export(client)
    text = response.content.decode()
    assert "oscar" not in text.lower()
    theirs = {r.pk for r in oscar.records}
    assert not theirs & {d["record_id"] for d in data["decisions"]}
    assert not {r.pk for r in oscar.reads} & {r["id"] for r in data["access_log"]}
    assert not {e.pk for e in oscar.exports} & {e["id"] for e in data["exports"]}
    theirs_checks = {c.purpose_slug for c in oscar.checks}
    assert not theirs_checks & {c["purpose"] for c in data["consent_checks"]}
    # And Oscar's own file holds nothing of Eve's.
    client.force_login(outsider.user)
    response, theirs_file = _export(client)
    text = response.content.decode()
    assert "eve private reason" not in text and "eve audit" not in text
    assert employee.email not in text and "Eve Employee" not in text
    assert not {r.pk for r in eve.records} & {d["record_id"] for d in theirs_file["decisions"]}
    consents = {c["purpose"]: c for c in theirs_file["data_use_consents"]}
    for purpose in eve.purposes:  # Eve allowed these; Oscar's file says he did not decide
        assert not consents[purpose.slug]["allowed"]
        assert consents[purpose.slug]["record_id"] is None


def test_each_export_is_logged_for_the_person_and_lists_itself(client, employee):
    client.force_login(employee.user)
    reads_before = AccessLogEntry.objects.count()
    _response, data = _export(client)

    logged = DataExport.objects.get(person=employee.user)
    assert logged.ip_address == "198.51.100.4"
    assert [e["id"] for e in data["exports"]] == [logged.pk]
    # The person sees it on their access-log page, marked as their own download ...
    page = client.get("/privacy/access-log/").content.decode()
    assert "You downloaded all your data on" in page and "198.51.100.4" in page
    # ... and it is not counted as someone else's read of their records.
    assert AccessLogEntry.objects.count() == reads_before
    _export(client)
    assert DataExport.objects.filter(person=employee.user).count() == 2


def test_a_logged_export_cannot_be_changed_or_removed(client, employee):
    client.force_login(employee.user)
    _export(client)
    logged = DataExport.objects.get()
    logged.ip_address = "192.0.2.1"
    with pytest.raises(ExportLogImmutableError):
        logged.save()
    with pytest.raises(ExportLogImmutableError):
        logged.delete()
    # The database refuses too, for any path that skips the model.
    for sql in (
        "UPDATE privacy_dataexport SET ip_address = '192.0.2.1'",
        "DELETE FROM privacy_dataexport",
    ):
        with (
            pytest.raises((IntegrityError, InternalError)),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert DataExport.objects.get().ip_address == "198.51.100.4"
