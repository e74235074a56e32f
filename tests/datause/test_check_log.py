"""Every answered check reaches the person's access log, counted per collector, person, purpose
and day, exactly once, even when the process that answered was killed before it flushed; and
the batch answers 1 or 1,000 pairs in the same number of queries."""

import io
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from consent.access import reads_of
from consent.models import AccessLogEntry
from datause import checklog, services
from datause.models import CheckLogSpool, ConsentCheckLog
from people.models import Employee
from tests.api.conftest import key_client
from tests.conftest import WEB

URL = "/api/v1/consent/check"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def collector(db):
    return key_client("consent:check", name="Telemetry")


@pytest.mark.django_db
def test_checks_are_counted_per_collector_person_purpose_and_day(collector, purpose, eve):
    client, key, _ = collector
    other_client, other_key, _ = key_client("consent:check", name="Screen recorder")
    checklog.flush()  # whatever earlier tests spooled
    for _ in range(3):
        assert client.get(URL, {"employee": "E-1001", "purpose": "keystrokes"}).status_code == 200
    other_client.get(URL, {"employee": "E-1001", "purpose": "keystrokes"})
    client.get(URL, {"employee": "nobody", "purpose": "keystrokes"})  # nobody's data: no entry
    assert not AccessLogEntry.objects.filter(subject=eve.user).exists()  # nothing per check

    checklog.flush()

    rows = {r.api_key_id: r for r in checklog.checks_of(eve.user)}
    assert {k: r.checks for k, r in rows.items()} == {key.pk: 3, other_key.pk: 1}
    assert rows[key.pk].day == datetime.now(UTC).date()
    entries = list(reads_of(eve.user))
    assert len(entries) == 2  # one per collector and day, however many checks
    assert {e.viewer_id for e in entries} == {key.service_user_id, other_key.service_user_id}
    assert all(e.channel == "api" and e.page == "api:consent-check" for e in entries)
    assert any("Telemetry" in e.purpose and "keystrokes" in e.purpose for e in entries)
    key.refresh_from_db()
    assert key.last_used_at is not None

    checklog.flush()  # again: nothing is counted twice
    assert ConsentCheckLog.objects.get(api_key=key).checks == 3
    tomorrow = timezone.now() + timedelta(days=1)
    with time_machine.travel(tomorrow, tick=False):
        client.get(URL, {"employee": "E-1001", "purpose": "keystrokes"})
        checklog.flush()
    assert ConsentCheckLog.objects.filter(api_key=key).count() == 2
    assert reads_of(eve.user).count() == 3


@pytest.mark.django_db
def test_a_batch_is_logged_like_single_checks(collector, purpose, eve):
    client, key, _ = collector
    checklog.flush()
    pairs = [{"employee": "E-1001", "purpose": "keystrokes"}] * 4
    pairs.append({"employee": "ghost", "purpose": "keystrokes"})
    assert client.post(URL, {"checks": pairs}, format="json").status_code == 200
    checklog.flush()
    assert ConsentCheckLog.objects.get(api_key=key, subject=eve.user).checks == 4
    assert reads_of(eve.user).count() == 1


@pytest.mark.django_db
def test_a_flush_repeated_after_a_crash_counts_nothing_twice(collector, eve, tmp_path):
    _, key, _ = collector
    spool = tmp_path / "crashed.spool"
    line = f"{key.pk} {eve.user_id} keystrokes 1 1800000000\n".encode()
    spool.write_bytes(line * 2 + line[:7])  # the last line was still being written

    assert checklog.flush_file(spool, spool.name) == 2
    assert checklog.flush_file(spool, spool.name) == 0  # a repeat starts at the offset
    with open(spool, "ab") as f:
        f.write(line[7:])
    assert checklog.flush_file(spool, spool.name) == 1
    assert ConsentCheckLog.objects.get(api_key=key).checks == 3
    assert CheckLogSpool.objects.get(name=spool.name).applied_bytes == len(line) * 3


@pytest.mark.django_db
def test_the_spool_of_a_killed_process_is_counted_by_a_survivor(collector, eve, tmp_path):
    """A process that answered and was then SIGKILLed never flushed; its lines are the
    kernel's, and its lock died with it, so another process takes the spool over."""
    _, key, _ = collector
    child = (
        "import os, signal, django\n"
        "django.setup()\n"
        "from datause import checklog\n"
        f"for _ in range(5): checklog.record({key.pk}, {eve.user_id}, 'keystrokes', 1)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PORTAL_CHECK_LOG_DIR": str(tmp_path),
        "PORTAL_CHECK_LOG_FLUSH_SECONDS": "0",
        "PORTAL_CHECK_CACHE": "0",
    }
    done = subprocess.run([sys.executable, "-c", child], cwd=ROOT, env=env, timeout=60)
    assert done.returncode == -signal.SIGKILL
    assert len(list(tmp_path.glob("*.spool"))) == 1
    settings.PORTAL_CHECK_LOG_DIR = str(tmp_path)

    out = io.StringIO()
    call_command("drain_consent_check_log", stdout=out)
    assert out.getvalue().startswith("counted 5 spooled check(s)")

    assert ConsentCheckLog.objects.get(api_key=key, subject=eve.user).checks == 5
    assert list(tmp_path.glob("*.spool")) == []  # drained and retired
    assert reads_of(eve.user).count() == 1


@pytest.mark.django_db
def test_a_live_process_spool_is_left_to_its_owner(collector, eve, tmp_path):
    settings.PORTAL_CHECK_LOG_DIR = str(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time\n"
         "f = open(sys.argv[1], 'ab'); fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True)\n"
         "time.sleep(60)\n", str(tmp_path / "alive.spool")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert checklog.drain_orphans() == 0
        assert (tmp_path / "alive.spool").exists()
    finally:
        holder.kill()
        holder.wait()


def _people(count: int, team) -> list[Employee]:
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"batch-{count}-{i}@example.test") for i in range(count)
    )
    return Employee.objects.bulk_create(
        Employee(user=u, name=f"P {i}", email=u.username, team=team, external_id=f"B{count}-{i}")
        for i, u in enumerate(users)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("size", [1, 1000])
def test_a_batch_takes_the_same_queries_for_one_pair_or_a_thousand(
    size, collector, purpose, eve, platform, django_assert_num_queries
):
    client, _, _ = collector
    services.opt_in(purpose=purpose, actor=eve.user, terms_sha256=purpose.terms_sha256, context=WEB)
    people = _people(size - 1, platform) if size > 1 else []
    pairs = [{"employee": "E-1001", "purpose": "keystrokes"}]
    pairs += [{"employee": p.external_id, "purpose": "keystrokes"} for p in people]
    client.post(URL, {"checks": pairs[:1]}, format="json")  # the key's last_used_at is fresh
    # One statement for every pair: person, newest published version, newest record (the key
    # is cached since the first request; the access log is spooled: no query)
    with django_assert_num_queries(1):
        response = client.post(URL, {"checks": pairs}, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == size
    assert results[0]["allowed"] is True
    assert all(r["allowed"] is False and r["status"] == 200 for r in results[1:])
