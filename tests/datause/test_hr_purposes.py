"""HR's purpose pages (/hr/purposes/): drafts, publication only with an owner and an approval,
the next version (people asked again, old opt-ins no longer count), HR only, constant queries,
and consent.changed routed to the purpose's own collecting system."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consent.models import ConsentRecord
from datause import services
from datause.check import check
from datause.emails import ASKED_AGAIN
from datause.models import DataUsePurpose
from notifications.models import Notification
from notifications.tasks import send_notification_email
from outbox.models import OutboxEvent
from outbox.services import dispatch_pending
from portal.errors import TransitionError
from tests.conftest import WEB, make_person
from tests.datause.conftest import make_purpose
from webhooks import services as webhooks
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def hr_client(client, hr_user):
    client.force_login(hr_user)
    return client


def form_data(**extra) -> dict:
    return {
        "slug": "screen-capture",
        "title": "Screen capture for model training",
        "categories": ["screenshots", "app_usage"],
        "why": "To teach the assistant how our tools are used.",
        "retention": "90 days",
        "access": "The model-training team; not managers, not HR.",
        "collecting_system": "ai-telemetry",
        "validity_months": "12",
        "owner_email": "",
        "approver_kind": "",
        "approved_on": "",
        "approval_reference": "",
        **extra,
    }


APPROVED = {
    "approver_kind": "works_council",
    "approved_on": "2026-02-01",
    "approval_reference": "WC-2026-017",
}


def opt_in(purpose, person):
    return services.opt_in(
        purpose=purpose, actor=person.user, terms_sha256=purpose.terms_sha256, context=WEB
    )


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- only HR -----------------------------------------------------------------------------------


def test_employees_and_managers_cannot_open_or_use_the_purpose_pages(
    client, employee, manager, purpose
):
    pages = ["/hr/purposes/", "/hr/purposes/new/", "/hr/purposes/keystrokes/",
             "/hr/purposes/keystrokes/v1/edit/"]  # fmt: skip
    posts = ["/hr/purposes/keystrokes/next-version/", "/hr/purposes/keystrokes/v1/publish/",
             "/hr/purposes/new/"]  # fmt: skip
    for person in (employee, manager):
        client.force_login(person.user)
        for path in pages:
            assert client.get(path).status_code == 403, path
        for path in posts:
            assert client.post(path, form_data()).status_code == 403, path
    client.logout()
    assert client.get("/hr/purposes/").status_code == 302  # to sign-in
    assert DataUsePurpose.objects.count() == 1


def test_the_hr_navigation_links_the_purposes(hr_client):
    page = hr_client.get("/hr/").content.decode()
    assert 'href="/hr/purposes/"' in page


# --- drafts and publication --------------------------------------------------------------------


def test_hr_saves_a_draft_that_asks_nobody_anything(hr_client, employee):
    response = hr_client.post("/hr/purposes/new/", form_data())
    assert response.status_code == 302
    draft = DataUsePurpose.objects.get(slug="screen-capture")
    assert (draft.version, draft.published_at, draft.validity_months) == (1, None, 12)
    assert draft.categories == ["screenshots", "app_usage"]
    page = hr_client.get(response.url).content.decode()
    assert "Preview: what an employee will read" in page
    assert "a named accountable owner" in page  # what is still missing before publishing
    assert not Notification.objects.exists()


def test_the_form_names_what_is_wrong_and_saves_nothing(hr_client, employee):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    bad = form_data(
        slug="Not A Slug", categories=[], owner_email="nobody@example.test",
        validity_months="0", approved_on=tomorrow,
    )  # fmt: skip
    response = hr_client.post("/hr/purposes/new/", bad)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Nobody working here has this email address." in page
    assert "This field is required." in page  # categories
    assert not DataUsePurpose.objects.exists()
    # The service's own rules, on their fields: a future approval, a validity out of range.
    response = hr_client.post(
        "/hr/purposes/new/", form_data(approved_on=tomorrow, validity_months="48")
    )
    page = response.content.decode()
    assert "An approval cannot be dated in the future." in page
    assert "Consent lasts between 1 and 36 months." in page
    assert not DataUsePurpose.objects.exists()


def test_a_second_purpose_with_the_same_short_name_is_refused(hr_client, purpose):
    response = hr_client.post("/hr/purposes/new/", form_data(slug="keystrokes"))
    assert "draft its next version instead" in response.content.decode()
    assert DataUsePurpose.objects.filter(slug="keystrokes").count() == 1


def test_publishing_without_owner_and_approval_is_refused_with_a_clear_error(hr_client):
    hr_client.post("/hr/purposes/new/", form_data())
    response = hr_client.post("/hr/purposes/screen-capture/v1/publish/")
    assert response.status_code == 302
    message = texts(response)[-1]  # after the draft's own "Draft saved"
    assert "A purpose is published only with a named accountable owner" in message
    assert "a recorded approval (data-protection officer or works council" in message
    draft = DataUsePurpose.objects.get(slug="screen-capture")
    assert draft.published_at is None and draft.terms_sha256 == ""


def test_hr_publishes_and_employees_see_the_owner_and_the_approval(
    hr_client, client, hr_user, manager, employee
):
    hr_client.post("/hr/purposes/new/", form_data(owner_email=manager.email.upper(), **APPROVED))
    response = hr_client.post("/hr/purposes/screen-capture/v1/publish/")
    assert "Version 1 is published." in texts(response)[-1]
    purpose = DataUsePurpose.objects.get(slug="screen-capture")
    assert purpose.is_published and purpose.owner == manager
    client.force_login(employee.user)
    page = client.get("/privacy/purposes/").content.decode()
    assert "Screen capture for model training" in page
    assert "WC-2026-017" in page and "Works council" in page and "Morgan Manager" in page
    # A published version never changes: the edit page sends HR back, the service refuses.
    client.force_login(hr_user)
    response = hr_client.get("/hr/purposes/screen-capture/v1/edit/")
    assert response.status_code == 302
    with pytest.raises(TransitionError):
        services.update_purpose_draft(purpose=purpose, actor=None, title="Something else")


# --- the next version --------------------------------------------------------------------------


@pytest.fixture
def deciders(manager, platform):
    """Five people who decided about version 1 (three yes, two no), one who left since, and
    one who never decided."""
    people = [make_person(f"d{n}@x.test", f"Decider {n}", platform, manager=manager,
                          external_id=f"D-{n}") for n in range(6)]  # fmt: skip
    never = make_person("never@x.test", "Never Decided", platform, external_id="N-1")
    return people, never


def test_a_new_version_asks_everyone_again_and_old_opt_ins_no_longer_count(
    hr_client, purpose, deciders, mailoutbox
):
    people, never = deciders
    for person in people[:4]:
        opt_in(purpose, person)
    for person in people[4:]:
        services.opt_out(
            purpose=purpose, actor=person.user, terms_sha256=purpose.terms_sha256, context=WEB
        )
    people[5].is_active = False
    people[5].save(update_fields=["is_active"])
    assert check("D-0", "keystrokes")["allowed"] is True

    response = hr_client.post("/hr/purposes/keystrokes/next-version/")
    assert response.url == "/hr/purposes/keystrokes/v2/edit/"
    again = hr_client.post("/hr/purposes/keystrokes/next-version/")  # a double click
    assert again.url == "/hr/purposes/keystrokes/v2/edit/"
    assert DataUsePurpose.objects.filter(slug="keystrokes").count() == 2
    assert check("D-0", "keystrokes")["allowed"] is True  # a draft changes nothing

    edit = hr_client.get(response.url).content.decode()
    assert 'value="DPO-2026-1"' in edit  # copied from version 1
    hr_client.post(
        response.url,
        form_data(slug="ignored", title="Keystroke capture", categories=["keystrokes", "audio"],
                  owner_email=purpose.owner.email, **APPROVED),
    )  # fmt: skip
    v2 = DataUsePurpose.objects.get(slug="keystrokes", version=2)
    assert v2.categories == ["keystrokes", "audio"] and v2.approval_reference == "WC-2026-017"
    hr_client.post("/hr/purposes/keystrokes/v2/publish/")
    v2.refresh_from_db()
    assert v2.is_published

    answer = check("D-0", "keystrokes")
    assert answer["allowed"] is False and answer["purpose_version"] == 2
    asked = Notification.objects.filter(kind=ASKED_AGAIN)
    # Everyone still here who decided (yes or no), once; not who left, not who never decided.
    assert sorted(asked.values_list("recipient_id", flat=True)) == sorted(
        p.user_id for p in people[:5]
    )
    send_notification_email(asked.get(recipient=people[0].user).pk)
    [mail] = mailoutbox
    assert mail.to == [people[0].email]
    assert '"Keystroke capture" changed: please decide again' in mail.subject
    assert "Your earlier answer no longer counts" in mail.body
    assert "/privacy/purposes/" in mail.body
    # Collectors hear that the four live opt-ins stopped counting (not the two who said no).
    stopped = OutboxEvent.objects.filter(key__startswith="consent.changed:new_version:")
    assert sorted(e.payload["employee"] for e in stopped) == ["D-0", "D-1", "D-2", "D-3"]
    assert {(e.payload["allowed"], e.payload["purpose_version"]) for e in stopped} == {(False, 2)}
    # Publishing twice asks nobody twice.
    services.publish_purpose(purpose=v2, actor=None)
    assert asked.count() == 5
    # The old version can no longer be agreed to; the new one can.
    with pytest.raises(TransitionError):
        opt_in(purpose, people[0])
    opt_in(v2, people[0])
    assert check("D-0", "keystrokes")["allowed"] is True


def test_asking_again_takes_the_same_queries_for_one_person_and_for_many(purpose, manager):
    def publish_next_version_after(n: int) -> int:
        current = DataUsePurpose.objects.filter(slug="keystrokes").order_by("-version").first()
        for i in range(n):
            person = make_person(f"q{current.version}-{i}@x.test", "Q", manager.team)
            opt_in(current, person)
        draft = services.draft_next_version(purpose=current)
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            services.publish_purpose(purpose=draft, actor=None)
        return len(queries)

    one = publish_next_version_after(1)
    assert publish_next_version_after(6) == one
    assert Notification.objects.filter(kind=ASKED_AGAIN).count() == 1 + (1 + 6)


def test_the_list_and_a_purpose_page_take_the_same_queries_however_many_purposes(
    hr_client, manager
):
    make_purpose(manager, slug="one")

    def counted(path):
        with CaptureQueriesContext(connection) as queries:
            assert hr_client.get(path).status_code == 200
        return len(queries)

    few = counted("/hr/purposes/"), counted("/hr/purposes/one/")
    for n in range(4):
        grown = make_purpose(manager, slug=f"more-{n}")
        services.publish_purpose(
            purpose=services.draft_next_version(purpose=grown), actor=manager.user
        )
    services.draft_next_version(purpose=DataUsePurpose.objects.get(slug="one"))
    services.publish_purpose(
        purpose=DataUsePurpose.objects.get(slug="one", version=2), actor=manager.user
    )
    assert (counted("/hr/purposes/"), counted("/hr/purposes/one/")) == few


# --- consent.changed goes to the purpose's collecting system only -------------------------------


def test_consent_changed_goes_only_to_the_purposes_own_endpoints(manager, employee):
    collector, _secret = webhooks.create_endpoint(
        url="https://telemetry.example.test/hooks", events=["consent.changed"]
    )
    other, _secret = webhooks.create_endpoint(
        url="https://other-collector.example.test/hooks", events=["consent.changed"]
    )
    routed = make_purpose(manager, slug="routed", publish=False)
    services.update_purpose_draft(purpose=routed, actor=None, webhook_endpoints=[collector])
    routed = services.publish_purpose(purpose=routed, actor=manager.user)
    unrouted = make_purpose(manager, slug="unrouted")
    with transaction.atomic():
        record = opt_in(routed, employee)
        opt_in(unrouted, employee)
    dispatch_pending()
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.endpoint == collector
    data = delivery.payload["data"]
    assert data["purpose"] == "routed" and data["record_id"] == record.pk
    assert set(data) == {"purpose", "purpose_version", "collecting_system", "employee",
                         "allowed", "record_id", "decided_at", "valid_until"}  # fmt: skip
    assert not WebhookDelivery.objects.filter(endpoint=other).exists()
    # The next version keeps its collecting system's endpoints.
    assert list(services.draft_next_version(purpose=routed).webhook_endpoints.all()) == [collector]


def test_a_purpose_cannot_name_an_endpoint_that_does_not_take_consent_changed(manager):
    proposals_only, _secret = webhooks.create_endpoint(
        url="https://hris.example.test/hooks", events=["proposal.created"]
    )
    draft = make_purpose(manager, publish=False)
    with pytest.raises(Exception, match="do not take consent.changed"):
        services.update_purpose_draft(purpose=draft, actor=None, webhook_endpoints=[proposals_only])
    assert not draft.webhook_endpoints.exists()


def test_no_page_of_the_purposes_shows_anyones_choice(hr_client, purpose, employee):
    opt_in(purpose, employee)
    for path in ("/hr/purposes/", "/hr/purposes/keystrokes/"):
        page = hr_client.get(path).content.decode()
        assert employee.name not in page and employee.email not in page
    assert ConsentRecord.objects.filter(about_kind="data_use").count() == 1


def test_no_admin_page_shows_an_individual_data_use_choice(client, purpose, employee, manager):
    from django.contrib.auth import get_user_model

    employee.external_id = "E-77"
    employee.save(update_fields=["external_id"])
    collector, _secret = webhooks.create_endpoint(
        url="https://telemetry.example.test/hooks", events=["consent.changed"]
    )
    routed = make_purpose(manager, slug="routed", publish=False)
    services.update_purpose_draft(purpose=routed, actor=None, webhook_endpoints=[collector])
    routed = services.publish_purpose(purpose=routed, actor=manager.user)
    with transaction.atomic():
        record = opt_in(routed, employee)
    dispatch_pending()
    admin = get_user_model().objects.create_superuser("root@x.test", "root@x.test", "pw")
    client.force_login(admin)
    event = OutboxEvent.objects.get(topic="consent.changed")
    delivery = WebhookDelivery.objects.get()
    pages = {
        f"/admin/outbox/outboxevent/{event.pk}/change/": 200,
        f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/": 200,
        "/admin/notifications/notification/": 200,
        "/admin/consent/consentrecord/": 200,
    }
    for path, status in pages.items():
        response = client.get(path)
        assert response.status_code == status, path
        page = response.content.decode()
        assert "E-77" not in page and "allowed" not in page, path
        assert employee.email not in page, path  # not even that she has a receipt
    # The ledger's admin does not open a data-use record either (it is not in its queryset).
    response = client.get(f"/admin/consent/consentrecord/{record.pk}/change/")
    assert response.status_code == 302
