"""What a proposal must say before it is sent, why a proposer extends or withdraws, and the
history the person is shown (issue 9: consent that does not nudge)."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assignments import terms
from assignments.models import Campaign, Proposal, ProposalEvent
from assignments.selectors import timeline_for, undraft_team_choices
from assignments.services import (
    end_leave,
    extend_deadline,
    opt_in,
    propose_campaign,
    propose_transfer,
    send_due_reminders,
    start_leave,
    withdraw_proposal,
)
from assignments.services.proposing import ROLE_DESCRIPTION_MIN_CHARS
from consent import terms as documents
from consent.models import ConsentRecord, TermsDocument
from notifications.models import Notification
from people.models import Team
from portal.errors import TransitionError
from tests.assignments.helpers import ROLE, describe
from tests.conftest import WEB, make_person

pytestmark = pytest.mark.django_db

FACTS = {
    "grade": "L4",
    "pay_band_change": "up",
    "location": "Berlin office",
    "new_manager": "Ada Lead",
    "expected_duration": "12 months, then a review",
    "contact_name": "Harper HR",
    "contact_email": "harper@example.test",
}


def _propose(employee, manager, team, deadline, start_date, **extra):
    return propose_transfer(
        employee=employee,
        to_team=team,
        actor=manager.user,
        role_description=extra.pop("role_description", ROLE),
        start_date=start_date,
        response_deadline=deadline,
        **extra,
    )


def _document(proposal) -> dict:
    return TermsDocument.objects.get(sha256=proposal.terms_sha256).content


# --- The role description has real content --------------------------------------------------


@pytest.mark.parametrize("words", ["", "   ", "x", "Work.", "Evaluate models; 40% labelling."])
def test_an_empty_or_token_description_cannot_be_sent_and_the_error_says_why(
    employee, manager, ai_team, deadline, start_date, words
):
    with pytest.raises(ValidationError) as refused:
        _propose(employee, manager, ai_team, deadline, start_date, role_description=words)
    message = refused.value.message_dict["role_description"][0]
    assert f"at least {ROLE_DESCRIPTION_MIN_CHARS} characters" in message
    assert "day to day" in message
    assert not Proposal.objects.exists() and not TermsDocument.objects.exists()


def test_padding_with_spaces_does_not_count_as_content(
    employee, manager, ai_team, deadline, start_date
):
    padded = "Evaluate models." + " " * 100 + "Yes."
    with pytest.raises(ValidationError, match="at least"):
        _propose(employee, manager, ai_team, deadline, start_date, role_description=padded)


def test_a_campaign_needs_a_real_description_too(employee, ai_team, deadline, start_date, hr_user):
    drive = Campaign.objects.create(
        name="Drive", slug="drive", description="Evaluation.", created_by=hr_user
    )
    with pytest.raises(ValidationError, match="at least"):
        propose_campaign(
            campaign=drive,
            employees=[employee],
            to_team=ai_team,
            actor=hr_user,
            role_description="Evaluate.",
            start_date=start_date,
            response_deadline=deadline,
        )
    assert not Proposal.objects.exists()


# --- Structured facts are part of the hashed terms --------------------------------------------


def test_the_structured_facts_are_rows_of_the_hashed_document(
    employee, manager, ai_team, deadline, start_date
):
    proposal = _propose(employee, manager, ai_team, deadline, start_date, **FACTS)
    for name, value in FACTS.items():
        assert getattr(proposal, name) == value
    content = _document(proposal)
    assert content["format"] == terms.FORMAT == "consent-portal/proposal-terms/3"
    rows = dict(content["rows"])
    assert rows["Grade"] == "L4"
    assert rows["Pay band"] == "Higher pay band"
    assert rows["Location"] == "Berlin office"
    assert rows["New manager"] == "Ada Lead"
    assert rows["Expected duration"] == "12 months, then a review"
    assert rows["Contact for questions"] == "Harper HR (harper@example.test)"
    assert {k: content["facts"][k] for k in FACTS} == FACTS


def test_a_different_fact_is_a_different_document(
    employee, manager, ai_team, payments, deadline, start_date
):
    up = _propose(employee, manager, ai_team, deadline, start_date, **FACTS)
    down = _propose(
        employee, manager, payments, deadline, start_date, **{**FACTS, "pay_band_change": "down"}
    )
    assert dict(_document(down)["rows"])["Pay band"] == "Lower pay band"
    facts_up = {k: v for k, v in _document(up)["facts"].items() if k in FACTS}
    facts_down = {k: v for k, v in _document(down)["facts"].items() if k in FACTS}
    assert facts_up != facts_down and up.terms_sha256 != down.terms_sha256


def test_unstated_facts_say_so_and_the_proposer_is_the_contact_by_default(
    employee, manager, ai_team, deadline, start_date
):
    proposal = _propose(employee, manager, ai_team, deadline, start_date)
    rows = dict(_document(proposal)["rows"])
    assert rows["Grade"] == rows["Pay band"] == rows["Location"] == "Not stated"
    assert rows["Contact for questions"] == "Morgan Manager (morgan@example.test)"
    assert proposal.contact_name == "Morgan Manager"


def test_a_pay_band_change_is_none_up_or_down(employee, manager, ai_team, deadline, start_date):
    with pytest.raises(ValidationError, match="none, up or down"):
        _propose(employee, manager, ai_team, deadline, start_date, pay_band_change="sideways")


def test_the_facts_reach_the_arrival_notice(employee, manager, ai_team, deadline, start_date):
    proposal = _propose(employee, manager, ai_team, deadline, start_date, **FACTS)
    notice = Notification.objects.get(kind=Notification.Kind.PROPOSAL_ARRIVED)
    assert notice.context["proposal_id"] == proposal.pk
    for name, value in FACTS.items():
        assert notice.context[name] == value


def test_a_campaign_states_the_same_facts_for_everyone(
    employee, outsider, ai_team, deadline, start_date, hr_user
):
    drive = Campaign.objects.create(
        name="Drive", slug="drive", description="Evaluation.", created_by=hr_user
    )
    proposals = propose_campaign(
        campaign=drive,
        employees=[employee, outsider],
        to_team=ai_team,
        actor=hr_user,
        role_description=ROLE,
        start_date=start_date,
        response_deadline=deadline,
        **FACTS,
    )
    assert all(p.grade == "L4" and p.pay_band_change == "up" for p in proposals)
    assert dict(_document(proposals[0])["rows"])["Location"] == "Berlin office"


def test_documents_of_the_second_format_are_still_shown_and_translated_as_they_were(
    employee, proposal
):
    # A document issued before the structured facts existed: its facts have none of them.
    facts = {k: v for k, v in _document(proposal)["facts"].items() if k not in FACTS}
    old = documents.document_for(terms.render(facts, "en"), language="en")
    documents.store([old])
    Proposal.objects.filter(pk=proposal.pk).update(terms_sha256=old.sha256)
    proposal.refresh_from_db()
    shown = terms.display(terms.shown_document(proposal, "en"))
    assert shown["format"] == terms.FORMAT_2 and not shown["first_format"]
    assert "Grade" not in dict(shown["rows"])
    german = terms.shown_document(proposal, "de")
    assert german.translation_of == old.sha256
    assert german.content["format"] == terms.FORMAT_2
    assert len(german.content["rows"]) == len(old.content["rows"])
    # And it can still be agreed to, in either language.
    record = opt_in(proposal=proposal, actor=employee.user, terms_sha256=german.sha256, context=WEB)
    assert record.terms_sha256 == german.sha256


def test_documents_of_the_first_format_are_still_shown(proposal):
    first = {
        "kind": "transfer",
        "employee": "Eve Employee",
        "from_team": "Platform",
        "to_team": "Applied AI",
        "role_description": "Evaluate models.",
        "data_labelling_percent": 40,
        "start_date": "2027-01-04",
        "campaign": None,
        "campaign_description": None,
        "terms_version": "1",
        "opt_out_guarantee": "Saying no is free.",
    }
    body = json.dumps(first, sort_keys=True, separators=(",", ":"))
    document = documents.document_for(json.loads(body), language="en")
    shown = terms.display(document)
    assert shown["first_format"] and shown["guarantee"] == ["Saying no is free."]


def test_store_issued_recognises_a_second_format_fingerprint(
    employee, manager, ai_team, deadline, start_date
):
    proposal = _propose(employee, manager, ai_team, deadline, start_date)
    # As a bulk import would leave it: no contact, fingerprinted in the second format.
    Proposal.objects.filter(pk=proposal.pk).update(contact_name="", contact_email="")
    proposal.refresh_from_db()
    facts = terms.facts_of(proposal, proposer_name="Morgan Manager")
    legacy = {k: v for k, v in facts.items() if k not in FACTS}
    sha = documents.document_for(terms.render(legacy, "en"), language="en").sha256
    Proposal.objects.filter(pk=proposal.pk).update(terms_sha256=sha)
    proposal = Proposal.objects.select_related("employee", "proposed_by").get(pk=proposal.pk)
    assert terms.store_issued([proposal]) == 1
    assert TermsDocument.objects.get(sha256=sha).content["format"] == terms.FORMAT_2


# --- Extending and withdrawing say why, and the person is told ------------------------------


def test_extending_needs_a_reason_and_the_person_is_told_it(proposal, manager):
    later = proposal.response_deadline + timedelta(days=2)
    for blank in ("", "   "):
        with pytest.raises(ValidationError, match="Say why"):
            extend_deadline(proposal=proposal, actor=manager.user, new_deadline=later, reason=blank)
    assert not ProposalEvent.objects.filter(kind=ProposalEvent.Kind.EXTENDED).exists()
    extend_deadline(
        proposal=proposal, actor=manager.user, new_deadline=later, reason="  She is travelling. "
    )
    event = ProposalEvent.objects.get(kind=ProposalEvent.Kind.EXTENDED)
    assert event.detail["reason"] == "She is travelling."
    notice = Notification.objects.get(kind=Notification.Kind.DEADLINE_EXTENDED)
    assert notice.recipient == proposal.employee.user
    assert notice.context["reason"] == "She is travelling."
    assert notice.context["extended_for_leave"] is False


def test_withdrawing_needs_a_reason_and_the_person_is_told_it(proposal, manager):
    with pytest.raises(ValidationError, match="Say why"):
        withdraw_proposal(proposal=proposal, actor=manager.user, reason="")
    proposal.refresh_from_db()
    assert proposal.state == Proposal.State.PENDING
    withdraw_proposal(proposal=proposal, actor=manager.user, reason="The team was merged.")
    event = ProposalEvent.objects.get(kind=ProposalEvent.Kind.WITHDRAWN)
    assert event.detail == {"reason": "The team was merged."}
    notice = Notification.objects.get(kind=Notification.Kind.PROPOSAL_WITHDRAWN)
    assert notice.context["reason"] == "The team was merged."


def test_a_reason_is_required_by_the_service_signature(proposal, manager):
    later = proposal.response_deadline + timedelta(days=2)
    with pytest.raises(TypeError):
        extend_deadline(proposal=proposal, actor=manager.user, new_deadline=later)
    with pytest.raises(TypeError):
        withdraw_proposal(proposal=proposal, actor=manager.user)


def test_leave_extends_without_a_typed_reason_and_says_it_was_leave(proposal, employee, hr_user):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        start_leave(employee=employee, actor=hr_user)
        clock.shift(timedelta(days=7))
        end_leave(employee=employee, actor=hr_user)
    notice = Notification.objects.get(kind=Notification.Kind.DEADLINE_EXTENDED)
    assert notice.context["extended_for_leave"] is True and notice.context["reason"] == ""
    [entry] = [e for e in timeline_for(proposal) if e.kind == ProposalEvent.Kind.EXTENDED]
    assert entry.for_leave and entry.reason == ""


# --- The timeline -------------------------------------------------------------------------


def test_the_timeline_lists_everything_that_happened_in_order(proposal, employee, manager):
    later = proposal.response_deadline + timedelta(days=2)
    with time_machine.travel(later - timedelta(hours=70), tick=False):
        extend_deadline(
            proposal=proposal, actor=manager.user, new_deadline=later, reason="Holiday week."
        )
        assert send_due_reminders()
    with time_machine.travel(later - timedelta(hours=60), tick=False):
        withdraw_proposal(proposal=proposal, actor=manager.user, reason="Plans changed.")
    proposal.refresh_from_db()
    entries = timeline_for(proposal)
    assert [e.kind for e in entries] == ["proposed", "extended", "reminded", "withdrawn"]
    proposed, extended, reminded, withdrawn = entries
    assert proposed.actor_name == "Morgan Manager" and not proposed.by_subject
    assert extended.reason == "Holiday week." and extended.new == later
    assert reminded.hours == 72
    assert withdrawn.reason == "Plans changed."


def test_the_timeline_marks_the_persons_own_decisions(proposal, employee):
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=proposal.terms_sha256, context=WEB)
    decided = timeline_for(proposal)[-1]
    assert decided.kind == ProposalEvent.Kind.OPTED_IN and decided.by_subject


def test_the_timeline_takes_two_queries_however_long_it_is(proposal, manager):
    def count():
        fresh = Proposal.objects.select_related("employee").get(pk=proposal.pk)
        with CaptureQueriesContext(connection) as queries:
            timeline_for(fresh)
        return len(queries)

    short = count()
    deadline = proposal.response_deadline
    for days in range(1, 6):
        extend_deadline(
            proposal=proposal,
            actor=manager.user,
            new_deadline=deadline + timedelta(days=days),
            reason=f"Extension {days}.",
        )
    assert count() == short == 2  # the events with their actors; the reminders


def test_another_persons_reminders_are_not_on_the_timeline(
    proposal, outsider, manager, ai_team, deadline, start_date
):
    theirs = _propose(outsider, manager, ai_team, deadline, start_date)
    with time_machine.travel(deadline - timedelta(hours=70), tick=False):
        assert len(send_due_reminders()) == 2
    assert [e.kind for e in timeline_for(proposal)].count("reminded") == 1
    assert [e.kind for e in timeline_for(theirs)].count("reminded") == 1


# --- Undraft: which teams are offered -----------------------------------------------------


def test_undraft_choices_put_the_previous_team_first_and_never_offer_ai_teams(
    platform, payments, ai_team, employee, outsider
):
    Team.objects.filter(pk=payments.pk).update(headcount_target=3, description="Card payments.")
    make_person("pat@example.test", "Pat", payments)
    gone = make_person("gus@example.test", "Gus", payments)
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    archive = Team.objects.create(name="Archive", slug="archive", headcount_target=1)
    make_person("al@example.test", "Al", archive)
    make_person("bo@example.test", "Bo", archive)
    Team.objects.create(name="Another AI", slug="another-ai", kind=Team.Kind.AI_INITIATIVE)
    choices = undraft_team_choices(current_team_id=platform.pk, previous_team_id=payments.pk)
    assert [c.team.name for c in choices] == ["Payments", "Archive"]
    previous, other = choices
    assert previous.is_previous and not other.is_previous
    # Oscar (from the cast) and Pat are active in Payments; Gus left.
    assert previous.open_seats == 1
    assert other.open_seats == 0  # over target counts as none open, never negative
    assert previous.team.description == "Card payments."
    none_set = undraft_team_choices(current_team_id=payments.pk, previous_team_id=None)
    assert [c.team.name for c in none_set] == ["Archive", "Platform"]
    assert none_set[1].open_seats is None  # no headcount target


def test_deciding_on_a_lapsed_retroactive_confirmation_never_says_nothing_changes(
    employee, payments, hr_user, deadline
):
    from assignments.services import propose_retroactive_confirmation

    confirmation = propose_retroactive_confirmation(
        employee=employee,
        previous_team=payments,
        actor=hr_user,
        role_description=describe("You were moved here by memo in March."),
        moved_on=timezone.localdate() - timedelta(days=200),
        response_deadline=deadline,
    )
    with (
        time_machine.travel(deadline + timedelta(minutes=5), tick=False),
        pytest.raises(TransitionError) as refused,
    ):
        opt_in(
            proposal=confirmation,
            actor=employee.user,
            terms_sha256=confirmation.terms_sha256,
            context=WEB,
        )
    assert "no consent on record" in refused.value.message
    assert "nothing" not in refused.value.message.lower()
    assert not ConsentRecord.objects.exists()


def test_refusals_about_a_retroactive_confirmation_call_its_acts_stay_and_undraft(
    employee, payments, hr_user, deadline
):
    from assignments.services import opt_out, propose_retroactive_confirmation

    confirmation = propose_retroactive_confirmation(
        employee=employee,
        previous_team=payments,
        actor=hr_user,
        role_description=describe("You were moved here by memo in March."),
        moved_on=timezone.localdate() - timedelta(days=200),
        response_deadline=deadline,
    )
    opt_out(proposal=confirmation, actor=employee.user, context=WEB, team_preferences=[])
    with pytest.raises(TransitionError) as refused:
        opt_in(
            proposal=confirmation,
            actor=employee.user,
            terms_sha256=confirmation.terms_sha256,
            context=WEB,
        )
    assert refused.value.message == (
        "You cannot choose to stay on this proposal: you already undrafted."
    )
    with pytest.raises(TransitionError, match="cannot undraft from this proposal"):
        opt_out(proposal=confirmation, actor=employee.user, context=WEB)
