"""What a webhook carries about a person is in that person's access log (invariant 6): each
endpoint that is sent someone's decision appears under its own account, once per event, and
the note that names the person never leaves the portal."""

import pytest

from assignments.services import expire_overdue_proposals, opt_in
from consent.models import AccessLogEntry
from outbox.services import dispatch_pending
from tests.conftest import WEB
from webhooks import services
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/hris-hooks"  # never called: these tests stop before delivery


def webhook_reads(user):
    return list(AccessLogEntry.objects.filter(subject=user, channel=AccessLogEntry.Channel.WEBHOOK))


def test_a_decision_sent_by_webhook_is_logged_for_the_person_once(proposal, employee):
    hris, _secret = services.create_endpoint(
        url=URL, events=["proposal.decided"], description="Workday sync"
    )
    services.create_endpoint(url=URL + "/moves", events=["move.effective"])  # told nothing yet
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    dispatch_pending()

    [entry] = webhook_reads(employee.user)
    assert entry.viewer == hris.service_user
    assert entry.page == URL
    assert entry.purpose == "proposal.decided sent by webhook"
    # The message is what integrators were promised: the person's account id is not in it.
    delivery = WebhookDelivery.objects.get(endpoint=hris)
    assert services.ABOUT_KEY not in delivery.payload["data"]
    assert delivery.payload["data"]["proposal_id"] == proposal.pk

    # A dispatcher that runs the same event again (it crashed before queueing the send) finds
    # the delivery it wrote, adds none, and logs nothing new.
    again = services.deliveries_for("proposal.decided", delivery.event_key, {}, entry.at)
    assert again == [delivery.pk]
    assert WebhookDelivery.objects.count() == 1
    assert len(webhook_reads(employee.user)) == 1


def test_an_endpoint_has_its_own_account_that_cannot_sign_in():
    endpoint, _secret = services.create_endpoint(url=URL, events=["proposal.expired"])
    account = endpoint.service_user
    assert account is not None and not account.is_active and not account.has_usable_password()
    other, _secret = services.create_endpoint(url=URL, events=["proposal.expired"])
    assert other.service_user != account


def test_silence_that_expired_a_proposal_is_logged_for_each_receiver(proposal, employee):
    first, _ = services.create_endpoint(url=URL, events=["proposal.expired"])
    second, _ = services.create_endpoint(url=URL + "/2", events=["proposal.expired"])
    expire_overdue_proposals(
        now=proposal.response_deadline.replace(year=proposal.response_deadline.year + 1)
    )
    dispatch_pending()
    assert {e.viewer_id for e in webhook_reads(employee.user)} == {
        first.service_user_id,
        second.service_user_id,
    }


def test_the_privacy_centre_names_the_system_that_was_told(client, proposal, employee):
    services.create_endpoint(url=URL, events=["proposal.decided"], description="Workday sync")
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    dispatch_pending()
    client.force_login(employee.user)
    page = client.get("/privacy/access-log/").content.decode()
    assert "Workday sync" in page
    assert f"Another system, by webhook ({URL})" in page
