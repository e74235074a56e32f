"""The privacy centre's cast: Eve with `n` of everything the portal can hold about a person
(proposals she declined with a private reason, data-use choices, notifications, reads of her
records by HR, her manager and a collector's API key, and her own exports), and Oscar, an
outsider, with the same kinds of data, which must never show on Eve's pages or in her file."""

import itertools
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.utils import timezone

from api.keys import create_key
from assignments.services import opt_out, propose_transfer
from consent.access import record_read
from consent.models import AccessLogEntry
from datause import services as datause
from datause.models import ConsentCheckLog
from privacy import services
from tests.assignments.helpers import ROLE
from tests.conftest import WEB
from tests.datause.conftest import make_purpose

_purpose_numbers = itertools.count(1)


@dataclass
class Held:
    """What was made for one person, to compare pages and files against."""

    proposals: list = field(default_factory=list)
    records: list = field(default_factory=list)
    purposes: list = field(default_factory=list)
    reads: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    exports: list = field(default_factory=list)
    reasons: list = field(default_factory=list)


def give_data(
    person, n, *, proposer, readers, team, deadline, start_date, owner, tag, collector
) -> Held:
    """`n` proposals (each declined with a private reason), `n` purposes (each allowed), `n`
    reads by each reader and the API, `n` days of a collector's checks, `n` exports."""
    held = Held()
    for i in range(n):
        proposal = propose_transfer(
            employee=person,
            to_team=team,
            actor=proposer,
            role_description=ROLE,
            start_date=start_date,
            response_deadline=deadline,
        )
        reason = f"{tag} private reason {i}"
        record = opt_out(proposal=proposal, actor=person.user, context=WEB, private_reason=reason)
        held.proposals.append(proposal)
        held.records.append(record)
        held.reasons.append(reason)
    # Each answer told its proposer: reads of the person's data too (channel "notice").
    held.reads.extend(
        AccessLogEntry.objects.filter(subject=person.user, channel=AccessLogEntry.Channel.NOTICE)
    )
    for _ in range(n):
        # Purposes are the company's, shown to everyone: named without the person's tag.
        number = next(_purpose_numbers)
        purpose = make_purpose(owner, slug=f"purpose-{number}", title=f"Telemetry {number}")
        held.purposes.append(purpose)
        held.records.append(
            datause.opt_in(
                purpose=purpose, actor=person.user, terms_sha256=purpose.terms_sha256, context=WEB
            )
        )
    for i in range(n):
        for reader in readers:
            held.reads.append(
                record_read(
                    viewer=reader,
                    subject=person.user,
                    page=f"/hr/dashboards/people/?n={i}",
                    purpose=f"{tag} audit {i}",
                )
            )
        held.reads.append(
            record_read(
                viewer=collector.service_user,
                subject=person.user,
                page="api:consent-check",
                purpose=f"consent check by {tag} collector",
                channel=AccessLogEntry.Channel.API,
            )
        )
        # What datause.checklog's flusher writes for a day of the collector's checks.
        held.checks.append(
            ConsentCheckLog.objects.create(
                api_key=collector,
                subject=person.user,
                purpose_slug=held.purposes[i].slug,
                purpose_version=1,
                day=timezone.localdate() - timedelta(days=i),
                checks=40 + i,
                first_at=timezone.now() - timedelta(days=i, hours=2),
                last_at=timezone.now() - timedelta(days=i),
            )
        )
        held.exports.append(services.log_export(person=person.user, ip_address="203.0.113.9"))
    return held


# A fixed test master key for sealing private reasons, in case the suite's conftest does not set
# one yet (consent.crypto refuses to seal without it); a real key comes from the environment.
TEST_MASTER_KEY = "cHJpdmFjeS1jZW50cmUtdGVzdC1tYXN0ZXIta2V5ISE="


@pytest.fixture(autouse=True)
def _ledger_master_key(settings):
    if not getattr(settings, "PORTAL_LEDGER_MASTER_KEY", ""):
        settings.PORTAL_LEDGER_MASTER_KEY = TEST_MASTER_KEY


@pytest.fixture
def collector(db):
    key, _secret = create_key(name="AI telemetry collector", scopes=["consent:check"])
    return key


@pytest.fixture
def make_data(manager, hr_user, ai_team, deadline, start_date, collector):
    def _make(person, n, *, proposer=None, readers=None, tag="eve"):
        return give_data(
            person,
            n,
            proposer=proposer or manager.user,
            readers=readers if readers is not None else [hr_user, manager.user],
            team=ai_team,
            deadline=deadline,
            start_date=start_date,
            owner=manager,
            tag=tag,
            collector=collector,
        )

    return _make


# The Playwright set-up of tests/web (the system's /usr/bin/chromium, screenshots, signing in
# through a real session cookie), for tests/privacy/test_browser.py.
from tests.web.conftest import (  # noqa: E402, F401
    browser_type_launch_args,
    screenshot_dir,
    sign_in,
)
