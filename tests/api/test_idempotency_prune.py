"""Idempotency records are kept for the retention window (24 h by default) and then pruned:
a retry within the window replays the first response, after the prune the key runs anew."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from api.idempotency import prune_idempotency_records
from api.models import IdempotencyRecord
from api.tasks import prune_idempotency
from assignments.models import Proposal
from tests.api.test_api import new_proposal

pytestmark = pytest.mark.django_db


def test_records_older_than_the_retention_window_are_pruned_and_their_keys_freed(
    settings, hris, eve_external_id, ai_team, deadline, start_date
):
    assert settings.PORTAL_IDEMPOTENCY_RETENTION_HOURS == 24
    body = new_proposal(eve_external_id, ai_team, deadline, start_date)
    started = timezone.now()
    with time_machine.travel(started, tick=False):
        first = hris.post("/api/v1/proposals/", body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert first.status_code == 201
    # A stale claim of a request that died without releasing it, an hour later.
    IdempotencyRecord.objects.create(
        client="key:999",
        key="stale",
        method_path="POST /api/v1/proposals/",
        request_sha256="0" * 64,
        created_at=started + timedelta(hours=1),
    )
    # Within the window nothing goes, and a retry is still answered from the record.
    assert prune_idempotency_records(now=started + timedelta(hours=23)) == 0
    with time_machine.travel(started + timedelta(hours=23), tick=False):
        again = hris.post("/api/v1/proposals/", body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert again["Idempotent-Replayed"] == "true" and Proposal.objects.count() == 1
    # Past it, the first record goes; the stale claim goes an hour later.
    assert prune_idempotency_records(now=started + timedelta(hours=24, seconds=1)) == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["stale"]
    assert prune_idempotency_records(now=started + timedelta(hours=25, seconds=1)) == 1
    assert not IdempotencyRecord.objects.exists()


def test_the_hourly_task_prunes_with_the_configured_retention(settings):
    settings.PORTAL_IDEMPOTENCY_RETENTION_HOURS = 2
    for hours_ago, key in ((3, "old"), (1, "recent")):
        IdempotencyRecord.objects.create(
            client="key:1",
            key=key,
            method_path="POST /api/v1/proposals/",
            request_sha256="0" * 64,
            status_code=201,
            created_at=timezone.now() - timedelta(hours=hours_ago),
        )
    assert prune_idempotency() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent"]


def test_beat_runs_the_prune_every_hour():
    from portal.celery import app

    entry = app.conf.beat_schedule["prune-idempotency-records"]
    assert entry["task"] == prune_idempotency.name == "api.tasks.prune_idempotency"
    assert entry["schedule"].hour == set(range(24)) and len(entry["schedule"].minute) == 1
