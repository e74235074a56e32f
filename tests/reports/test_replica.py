"""With a replica configured, the dashboards read there and everything else stays on the
primary. The test's replica is a second connection to the test database (tests/reports/
conftest.py), so which alias ran each query is what is checked."""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from consent.models import AccessLogEntry
from people.models import Employee
from reports.routers import ReplicaRouter, reading_from_replica, replica_alias
from tests.reports.conftest import add_people

replica_test = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


@pytest.fixture
def filled(campaign, destination, platform, payments):
    add_people(campaign, destination, [(platform, "Software Engineer", "opted_out", 6)])
    add_people(campaign, destination, [(payments, "Staff Engineer", "opted_in", 7)])
    return campaign


def captured(client, path):
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        if response.streaming:
            b"".join(response.streaming_content)
    return [q["sql"] for q in primary], [q["sql"] for q in replica]


@replica_test
@pytest.mark.parametrize(
    "path",
    [
        "/hr/dashboards/",
        "/hr/dashboards/campaigns/{pk}/",
        "/hr/dashboards/campaigns/{pk}/export.csv",
        "/hr/dashboards/no-adverse-consequence/",
    ],
)
def test_the_dashboards_read_from_the_replica(replica_configured, hr_client, filled, path):
    primary, replica = captured(hr_client, path.format(pk=filled.pk))

    # Every figure comes from the replica ...
    assert any("WITH " in sql for sql in replica)
    assert not any("WITH " in sql or "assignments_proposal" in sql for sql in primary)
    # ... and the primary answers only what the middleware asked before the view ran:
    # the session, the user, their time zone and language.
    assert len(primary) == 3
    assert "django_session" in primary[0] and "auth_user" in primary[1]


@replica_test
def test_the_drill_down_reads_from_the_replica_and_writes_the_log_to_the_primary(
    replica_configured, hr_client, filled
):
    primary, replica = captured(
        hr_client, f"/hr/dashboards/campaigns/{filled.pk}/people/?purpose=audit"
    )
    assert any("WITH scoped" in sql for sql in replica)
    assert [sql for sql in primary if sql.startswith("INSERT")][0].startswith(
        'INSERT INTO "consent_accesslogentry"'
    )
    assert not any(sql.startswith("INSERT") for sql in replica)
    assert AccessLogEntry.objects.count() == 13


@replica_test
def test_without_a_replica_the_dashboards_read_from_the_primary(hr_client, filled):
    assert replica_alias() == "default"
    primary, replica = captured(hr_client, f"/hr/dashboards/campaigns/{filled.pk}/")
    assert any("WITH scoped" in sql for sql in primary)
    assert replica == []


def test_only_reads_inside_the_block_go_to_the_replica(replica_configured):
    router = ReplicaRouter()
    assert router.db_for_read(Employee) is None  # Django's default: the primary
    with reading_from_replica():
        assert router.db_for_read(Employee) == "replica"
        assert router.db_for_write(Employee) == "default"
    assert router.db_for_read(Employee) is None


def test_the_replica_is_never_migrated():
    router = ReplicaRouter()
    assert router.allow_migrate("replica", "consent") is False
    assert router.allow_migrate("default", "consent") is None
