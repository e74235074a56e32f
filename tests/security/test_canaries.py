"""Canary strings planted in private reasons (opt-out, withdrawal, undraft) and in data-use
choices (the user agent of the decision), through the normal services, never reach anyone but
their owner: not in any page or API response to any other role, not in any email to someone
else, not in any log line, export or webhook. And they do reach the owner (her own pages show
her reasons), so this test can fail.

The crawl: every URL the resolver knows (GET; the path names Eve's objects, see
tests/security/authz_table.py), every ledger record's receipt and API detail, every proposal's
page and API detail, as every role.
"""

import json
import logging
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse

from api.throttling import PerClientRateThrottle
from consent.models import ConsentRecord
from notifications.models import Notification
from notifications.sending import send_notification
from outbox.models import OutboxEvent
from tests.security import authz_table
from tests.security.test_authz_matrix import body_of, build_path, call, clients, patterns
from tests.security.world import ROLES, SELF, built_world, isolated
from webhooks import services as webhooks
from webhooks.models import WebhookDelivery

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


class Collect(logging.Handler):
    """Every log line, of every logger, at DEBUG."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []

    def emit(self, record):
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name}: {text} {record.__dict__!r}")


@pytest.fixture(scope="module")
def logs():
    """Every logger at DEBUG, the ones that do not propagate to the root included."""
    handler, root = Collect(), logging.getLogger()
    loggers = [root] + [
        logging.getLogger(name)
        for name, found in logging.root.manager.loggerDict.items()
        if isinstance(found, logging.Logger)
    ]
    levels = {logger: logger.level for logger in loggers}
    own = [logger for logger in loggers if logger is root or not logger.propagate]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    for logger in own:
        logger.addHandler(handler)
    yield handler
    for logger in own:
        logger.removeHandler(handler)
    for logger, level in levels.items():
        logger.setLevel(level)


@pytest.fixture(scope="module")
def world(logs, django_db_setup, django_db_blocker):
    with built_world(django_db_blocker) as made:
        yield made


@pytest.fixture(scope="module", autouse=True)
def _no_rate_limits():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PerClientRateThrottle, "allow_request", lambda self, request, view: True)
        yield


def foreign(world, text: str, viewer) -> list[str]:
    """The canaries in `text` that are not the viewer's own."""
    return [c for c, owner in world.canaries.items() if c in text and owner != viewer]


def crawl_paths(world) -> list[str]:
    paths = []
    for key, route, entry, params in patterns():
        rule = authz_table.TABLE.get(key)
        if rule is None or key.startswith(("account_", "mfa_", "socialaccount_")):
            continue
        paths.append(build_path(world, key, route, entry, params, rule))
    for record_id in ConsentRecord.objects.values_list("pk", flat=True):
        for name in ("consent:receipt", "consent:receipt_json", "consent:receipt_jws"):
            paths.append(reverse(name, args=[record_id]))
        paths.append(reverse("consent-record-detail", args=[record_id]))
        paths.append(reverse("admin:consent_consentrecord_change", args=[record_id]))
    from assignments.models import Proposal  # noqa: PLC0415

    for proposal_id in Proposal.objects.values_list("pk", flat=True):
        paths.append(reverse("assignments:proposal", args=[proposal_id]))
        paths.append(reverse("proposal-detail", args=[proposal_id]))
    return sorted(set(paths))


def test_canaries_reach_their_owner_only(world, logs, capsys):
    assert len(world.canaries) == 7
    made = clients(world)
    users = {role: world.users.get(role) for role in ROLES}
    paths = crawl_paths(world)
    leaks, seen_by_owner, responses = [], set(), 0
    for path in paths:
        is_api = path.startswith(("/api/", "/scim/"))
        for role in ROLES:
            response = call(made[role], "GET", path, is_api)
            responses += 1
            text = body_of(response).decode("utf-8", "replace")
            leaks += [f"GET {path} as {role}: {c}" for c in foreign(world, text, users[role])]
            if role == SELF:
                seen_by_owner |= {c for c in world.canaries if c in text}

    # Emails: every notification, sent through the post office to its recipient.
    mail.outbox.clear()
    for notification in Notification.objects.select_related("recipient"):
        with isolated():
            send_notification(notification.pk)
    for message in mail.outbox:
        parts = [message.subject, message.body]
        parts += [content for content, _type in getattr(message, "alternatives", [])]
        parts += [str(a[1] if isinstance(a, tuple) else a) for a in message.attachments]
        recipients = [world.users[r] for r in world.users if world.users[r].email in message.to]
        viewer = recipients[0] if len(recipients) == 1 else None
        leaks += [f"email {message.subject!r}: {c}" for c in foreign(world, "".join(parts), viewer)]

    # Webhooks: every outbox event and every delivery body, as it would be posted.
    bodies = [json.dumps(e.payload) for e in OutboxEvent.objects.all()]
    with mock.patch.object(webhooks.requests, "post") as post:
        post.return_value.status_code = 204
        for delivery_id in WebhookDelivery.objects.values_list("pk", flat=True):
            with isolated():
                webhooks.deliver(delivery_id, now=None)
        bodies += [call_.kwargs["data"].decode() for call_ in post.call_args_list]
    leaks += [f"webhook {b[:80]}: {c}" for b in bodies for c in foreign(world, b, None)]

    # Logs: nobody reads another's reason in the logs, the owner included.
    leaks += [f"log {line[:120]}: {c}" for line in logs.lines for c in foreign(world, line, None)]

    eves = {c for c, owner in world.canaries.items() if owner == world.users[SELF]}
    reasons = {c for c in eves if "reason" in c}
    with capsys.disabled():
        print(
            f"\ncanaries: {len(world.canaries)} planted, {len(paths)} paths x {len(ROLES)} roles = "
            f"{responses} responses, {len(mail.outbox)} emails, {len(bodies)} webhook bodies, "
            f"{len(logs.lines)} log lines; {len(leaks)} leaks"
        )
    assert not leaks, "\n".join(leaks[:50])
    assert bodies and mail.outbox and logs.lines  # the channels were really read
    assert reasons <= seen_by_owner, f"Eve's own pages never show {reasons - seen_by_owner}"
