"""Every receipt the portal hands out is a valid Kantara Consent Receipt v1.1, names what was
decided in the words of the terms document (teams, proposer, start date; never a database
id), names the act the way the person knew it (a retroactive confirmation's opt-out is an
undraft), and carries the controller block from settings."""

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import formats, timezone
from jsonschema import Draft7Validator

from assignments.deadlines import minimum_deadline
from assignments.services import (
    apply_move,
    expire_overdue_proposals,
    opt_in,
    opt_out,
    propose_retroactive_confirmation,
    propose_transfer,
    undraft,
    withdraw_consent,
)
from consent.models import ConsentRecord
from people.models import Team
from people.roles import HR_GROUP
from tests.conftest import WEB, make_person

pytestmark = pytest.mark.django_db

SCHEMA = json.loads(
    (Path(__file__).parent / "schemas" / "kantara-consent-receipt-v1.1.schema.json").read_text()
)
VALIDATOR = Draft7Validator(SCHEMA)
ROLE = (
    "Evaluate the assistant's answers and label conversations: about 40% of each week is data "
    "labelling, the rest is evaluation and writing up what you find."
)
CONTROLLER = {
    "PORTAL_CONTROLLER_NAME": "Example Systems GmbH",
    "PORTAL_CONTROLLER_CONTACT": "Dana Data-Protection Officer",
    "PORTAL_CONTROLLER_ADDRESS": "Musterstraße 1, 10115 Berlin",
    "PORTAL_CONTROLLER_EMAIL": "privacy@example.test",
    "PORTAL_CONTROLLER_PHONE": "+49 30 1234567",
    "PORTAL_JURISDICTION": "DE",
}


def errors_of(receipt: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in VALIDATOR.iter_errors(receipt)]


@pytest.fixture
def controller(settings):
    for name, value in CONTROLLER.items():
        setattr(settings, name, value)


@pytest.fixture
def records(db):
    """One record of each action, each about a proposal with its stored terms document."""
    home = Team.objects.create(name="Platform", slug="platform")
    ai = Team.objects.create(name="Applied AI", slug="ai", kind=Team.Kind.AI_INITIATIVE)
    payments = Team.objects.create(name="Payments", slug="payments")
    manager = make_person("morgan@example.test", "Morgan Manager", home)
    hr = make_person("harper@example.test", "Harper Hr", home)
    hr.user.groups.add(Group.objects.get_or_create(name=HR_GROUP)[0])
    deadline = minimum_deadline() + timedelta(hours=1)
    start = timezone.localdate(deadline) + timedelta(days=14)

    def transfer(slug):
        return propose_transfer(
            employee=make_person(f"{slug}@example.test", slug.title(), home, manager=manager),
            to_team=ai,
            actor=manager.user,
            role_description=ROLE,
            data_labelling_percent=40,
            start_date=start,
            response_deadline=deadline,
        )

    def retroactive(slug):
        return propose_retroactive_confirmation(
            employee=make_person(f"{slug}@example.test", slug.title(), ai, manager=manager),
            previous_team=home,
            actor=hr.user,
            role_description=ROLE,
            moved_on=timezone.localdate() - timedelta(days=90),
            response_deadline=deadline,
        )

    eve, finn, hana, ida = transfer("eve"), transfer("finn"), transfer("hana"), transfer("ida")
    rita, rolf = retroactive("rita"), retroactive("rolf")
    found = {
        "opt_in": opt_in(
            proposal=eve, actor=eve.employee.user, terms_sha256=eve.terms_sha256, context=WEB
        )
    }
    found["withdraw"] = withdraw_consent(proposal=eve, actor=eve.employee.user, context=WEB)
    found["opt_out"] = opt_out(proposal=finn, actor=finn.employee.user, context=WEB)
    found["retroactive_opt_out"] = opt_out(
        proposal=rita, actor=rita.employee.user, context=WEB, team_preferences=[payments]
    )
    found["retroactive_opt_in"] = opt_in(
        proposal=rolf, actor=rolf.employee.user, terms_sha256=rolf.terms_sha256, context=WEB
    )
    undraft(proposal=rolf, actor=rolf.employee.user, context=WEB, team_preferences=[payments])
    found["retroactive_undraft"] = ConsentRecord.objects.get(
        about_id=str(rolf.pk), action="undraft"
    )
    opt_in(proposal=ida, actor=ida.employee.user, terms_sha256=ida.terms_sha256, context=WEB)
    on_start = timezone.make_aware(datetime.combine(start, datetime.min.time()))
    assert apply_move(proposal=ida, now=on_start + timedelta(minutes=1))
    undraft(proposal=ida, actor=ida.employee.user, context=WEB, team_preferences=[payments])
    found["undraft"] = ConsentRecord.objects.get(about_id=str(ida.pk), action="undraft")
    assert expire_overdue_proposals(now=deadline + timedelta(minutes=1)) == [hana.pk]
    found["expire"] = ConsentRecord.objects.get(about_id=str(hana.pk), action="expire")
    return {"records": found, "start": start, "proposals": {"eve": eve, "rita": rita}}


def receipt_of(client, record):
    client.force_login(record.subject)
    page = client.get(reverse("consent:receipt", args=[record.pk]))
    download = client.get(reverse("consent:receipt_json", args=[record.pk]))
    assert page.status_code == 200 and download.status_code == 200
    return page.content.decode(), json.loads(download.content)


def test_the_schema_is_not_a_rubber_stamp(client, records, controller):
    _page, receipt = receipt_of(client, records["records"]["opt_in"])
    assert errors_of(receipt) == []
    for broken in (
        {k: v for k, v in receipt.items() if k != "jurisdiction"},
        {**receipt, "consentReceiptId": "misspelt"},
        {**receipt, "consentTimestamp": str(receipt["consentTimestamp"])},
        {**receipt, "piiControllers": [{**receipt["piiControllers"][0], "address": "a line"}]},
        {**receipt, "services": []},
    ):
        assert errors_of(broken), broken


@pytest.mark.parametrize(
    "action",
    [
        "opt_in",
        "opt_out",
        "withdraw",
        "undraft",
        "expire",
        "retroactive_opt_in",
        "retroactive_opt_out",
        "retroactive_undraft",
    ],
)
def test_every_receipt_is_a_valid_kantara_receipt_naming_what_was_decided(
    client, records, controller, action
):
    record = records["records"][action]
    page, receipt = receipt_of(client, record)
    assert errors_of(receipt) == []
    assert receipt["piiControllers"] == [
        {
            "piiController": "Example Systems GmbH",
            "contact": "Dana Data-Protection Officer",
            "address": {"streetAddress": "Musterstraße 1, 10115 Berlin"},
            "email": "privacy@example.test",
            "phone": "+49 30 1234567",
        }
    ]
    assert receipt["jurisdiction"] == "DE"
    for value in CONTROLLER.values():
        assert value in page
    purpose = receipt["services"][0]["purposes"][0]["purpose"]
    start = formats.date_format(records["start"], "DATE_FORMAT")
    assert "Proposed by: Morgan Manager" in purpose or "Proposed by: Harper Hr" in purpose
    assert "Platform" in purpose and "Applied AI" in purpose
    if not action.startswith("retroactive"):
        assert f"Start date: {start}" in purpose
        assert purpose.startswith("Proposal to join Applied AI")
    assert f"#{record.about_id}" not in purpose and f"#{record.about_id}" not in page
    terms = receipt["x-consent-portal"]["terms"]
    assert [label for label, _value in terms["rows"]][:2] in (
        ["Proposed by", "From team"],
        ["Proposed by", "Moved from"],
    )
    for label, value in terms["rows"]:
        assert label in page and value in page


NAMES = {
    "opt_in": "Opted in",
    "opt_out": "Opted out",
    "withdraw": "Withdrew consent",
    "undraft": "Undrafted",
    "expire": "Expired without an answer",
    "retroactive_opt_in": "Chose to stay",
    "retroactive_opt_out": "Undrafted",
    "retroactive_undraft": "Undrafted",
}


@pytest.mark.parametrize("action", NAMES)
def test_a_receipt_names_the_act_as_the_person_knew_it(client, records, action):
    record = records["records"][action]
    page, receipt = receipt_of(client, record)
    assert receipt["x-consent-portal"]["actionLabel"] == NAMES[action]
    assert f"Receipt: {NAMES[action]}" in page
    if action == "retroactive_opt_out":
        assert receipt["x-consent-portal"]["action"] == "opt_out"  # the ledger's word stays
        assert "Opted out" not in page


def test_without_controller_settings_a_receipt_still_names_the_employer(client, records):
    _page, receipt = receipt_of(client, records["records"]["opt_out"])
    assert errors_of(receipt) == []
    [controller] = receipt["piiControllers"]
    assert controller["piiController"] == "Your employer"
    assert controller["contact"] == "Your HR partner"
    assert "@" in controller["email"] and "<" not in controller["email"]
