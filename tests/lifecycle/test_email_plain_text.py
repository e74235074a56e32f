"""Every kind of notice, produced the way the portal produces it (through the services) and
rendered the way the worker renders it (`notifications.rendering.render`): plain text stays
plain, a retroactive confirmation is never told "nothing changes", an undraft is called an
undraft, times read in one format in the reader's zone and language, and the words for codes
are chosen when the message is read, not when it was written."""

import re
import zoneinfo
from datetime import date, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import formats, timezone, translation
from django.utils.dates import MONTHS, MONTHS_3, WEEKDAYS
from django.utils.html import escape
from django.utils.translation import gettext

from assignments import emails
from assignments.deadlines import minimum_deadline
from assignments.services import (
    apply_due_moves,
    end_leave,
    expire_overdue_proposals,
    extend_deadline,
    opt_in,
    opt_out,
    propose_retroactive_confirmation,
    propose_transfer,
    send_due_reminders,
    start_leave,
    undraft,
    withdraw_consent,
    withdraw_proposal,
)
from notifications.models import Notification
from notifications.rendering import render, subject_for
from outbox.services import dispatch_pending
from people.models import Employee, Team
from people.roles import HR_GROUP
from tests.conftest import WEB, make_person

pytestmark = pytest.mark.django_db

Kind = Notification.Kind

# Everything autoescaping would turn into an entity: an apostrophe (&#x27;), quotes (&quot;),
# an ampersand (&amp;) and angle brackets (&lt; &gt;). Nobody wants "O&#x27;Brien" in an email.
NAME = 'Zoë "Zed" O\'Brien & <Co>'
ROLE = (
    f"Evaluate the assistant's answers for {NAME}: about 40% of each week is data labelling, "
    "the rest is evaluation and writing up what you find."
)
ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-f]+|[a-z][a-z0-9]*);", re.I)
HTML_TAG = re.compile(r"</?(?:p|strong|br|a|ul|ol|li|table|tr|th|td|code|h1|h2|html|body)\b", re.I)
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def person(slug, team, **extra):
    return make_person(f"{slug}@example.test", f"{slug.title()} {NAME}", team, **extra)


@pytest.fixture
def every_notice(db):
    """One of each notice, and each decision's receipt, from the services alone.

    Each scenario has its own person (one open proposal per person and team): Eve opts in and
    withdraws; Finn opts out; Gus's proposal is withdrawn; Hana stays silent; Ida moves and
    undrafts; Lea goes on leave; Rita is asked to confirm a move made without her consent and
    undrafts, Rolf stays, Rosa stays silent, Ruth's request is withdrawn.
    """
    home = Team.objects.create(name=f"{NAME} Platform", slug="platform")
    ai = Team.objects.create(name=f"{NAME} Applied AI", slug="ai", kind=Team.Kind.AI_INITIATIVE)
    payments = Team.objects.create(name=f"{NAME} Payments", slug="payments")
    manager = person("morgan", home)
    hr = person("harper", home)
    hr.user.groups.add(Group.objects.get_or_create(name=HR_GROUP)[0])
    deadline = minimum_deadline() + timedelta(hours=1)
    start = timezone.localdate(deadline) + timedelta(days=14)
    moved_on = timezone.localdate() - timedelta(days=90)

    def transfer(slug):
        return propose_transfer(
            employee=person(slug, home, manager=manager),
            to_team=ai,
            actor=manager.user,
            role_description=ROLE,
            data_labelling_percent=40,
            start_date=start,
            response_deadline=deadline,
        )

    def retroactive(slug):
        return propose_retroactive_confirmation(
            employee=person(slug, ai, manager=manager),
            previous_team=home,
            actor=hr.user,
            role_description=ROLE,
            moved_on=moved_on,
            response_deadline=deadline,
        )

    eve, finn, gus, hana, ida, lea = map(transfer, ("eve", "finn", "gus", "hana", "ida", "lea"))
    rita, rolf, rosa, ruth = map(retroactive, ("rita", "rolf", "rosa", "ruth"))

    assert send_due_reminders(now=deadline - timedelta(hours=23))
    extend_deadline(
        proposal=eve, actor=manager.user, new_deadline=deadline + timedelta(days=1), reason=ROLE
    )
    extend_deadline(
        proposal=rita, actor=hr.user, new_deadline=deadline + timedelta(days=1), reason=ROLE
    )
    away = timezone.now()
    start_leave(employee=lea.employee, actor=hr.user, now=away)
    end_leave(employee=lea.employee, actor=hr.user, now=away + timedelta(days=7))

    opt_in(proposal=eve, actor=eve.employee.user, terms_sha256=eve.terms_sha256, context=WEB)
    withdraw_consent(proposal=eve, actor=eve.employee.user, context=WEB)
    opt_out(proposal=finn, actor=finn.employee.user, context=WEB, private_reason="secret")
    withdraw_proposal(proposal=gus, actor=manager.user, reason=f"Budget for {NAME} moved.")
    withdraw_proposal(proposal=ruth, actor=hr.user, reason=f"Asked by {NAME} in error.")
    opt_in(proposal=ida, actor=ida.employee.user, terms_sha256=ida.terms_sha256, context=WEB)
    opt_out(proposal=rita, actor=rita.employee.user, context=WEB, team_preferences=[payments])
    opt_in(proposal=rolf, actor=rolf.employee.user, terms_sha256=rolf.terms_sha256, context=WEB)

    on_start = timezone.make_aware(datetime.combine(start, datetime.min.time()))
    assert apply_due_moves(now=on_start + timedelta(minutes=1))
    assert dispatch_pending(now=on_start + timedelta(minutes=1)) >= 1  # move.effective
    undraft(proposal=ida, actor=ida.employee.user, context=WEB, team_preferences=[payments])
    assert sorted(expire_overdue_proposals(now=deadline + timedelta(minutes=1))) == sorted(
        [hana.pk, rosa.pk]
    )
    assert emails.hr_digest(now=deadline + timedelta(hours=1))
    return {
        "notices": list(Notification.objects.select_related("recipient").order_by("pk")),
        "retroactive_ids": {rita.pk, rolf.pk, rosa.pk, ruth.pk},
        "rita": rita,
    }


def rendered(notification, *, language="", zone="UTC"):
    Employee.objects.filter(user_id=notification.recipient_id).update(
        language=language, time_zone=zone
    )
    return render(notification)


def about(notification, proposal_ids) -> bool:
    ids = notification.context.get("proposal_ids") or [notification.context.get("proposal_id")]
    return bool(set(ids) & proposal_ids)


def test_the_services_produce_every_kind_of_notice_and_every_receipt(every_notice):
    notices = every_notice["notices"]
    # Every kind about proposals; the data-use notices are produced in tests/datause.
    data_use = {Kind.DATA_USE_RECEIPT, Kind.DATA_USE_ASKED_AGAIN, Kind.DATA_USE_LAPSE_REMINDER}
    assert {n.kind for n in notices} == set(Kind.values) - data_use
    receipts = {n.context["action"] for n in notices if n.kind == Kind.DECISION_RECEIPT}
    assert receipts == {"opt_in", "opt_out", "withdraw", "undraft"}
    audiences = {n.context["audience"] for n in notices if n.kind == Kind.PROPOSAL_EXPIRED}
    assert audiences == {"employee", "proposer"}


@pytest.mark.parametrize("language", ["en", "de"])
def test_plain_text_is_plain_in_every_notice(every_notice, language):
    for n in every_notice["notices"]:
        subject, text, html = rendered(n, language=language)
        where = f"{n.kind} {n.dedupe_key} ({language})"
        for part in (subject, text):
            assert not ENTITY.search(part), f"{where}: {ENTITY.search(part)[0]!r} in {part!r}"
            assert not HTML_TAG.search(part), f"{where}: a tag in {part!r}"
        assert "\n" not in subject, where
        if n.kind != Kind.HR_DIGEST:  # counts, and names only of what expires soon
            assert NAME in subject + text, f"{where}: a name is not shown verbatim\n{text}"
            assert escape(NAME) in html, where
        assert NAME not in html, f"{where}: a name is not escaped in the HTML"
        for twice in ("&amp;amp;", "&amp;lt;", "&amp;quot;", "&amp;#"):
            assert twice not in html, f"{where}: escaped twice"


def test_a_retroactive_confirmation_is_never_told_nothing_changes(every_notice):
    retro = [n for n in every_notice["notices"] if about(n, every_notice["retroactive_ids"])]
    assert {n.kind for n in retro} >= {
        Kind.PROPOSAL_ARRIVED,
        Kind.DEADLINE_REMINDER,
        Kind.DEADLINE_EXTENDED,
        Kind.DECISION_RECEIPT,
        Kind.PROPOSAL_DECIDED,
        Kind.PROPOSAL_EXPIRED,
        Kind.PROPOSAL_WITHDRAWN,
    }
    # Staying moves nobody (the person is already there), so no "move took effect" notice;
    # placement requests and the digest are worded alike for every kind.
    assert Kind.MOVE_EFFECTIVE not in {n.kind for n in retro}
    for n in retro:  # to the person, and to HR who asked
        subject, text, html = rendered(n)
        words = " ".join((subject + " " + text).split()).lower()
        assert "nothing changes" not in words, f"{n.dedupe_key}: {words}"
        assert "proposal expires" not in words, n.dedupe_key
    by_kind = {}
    for n in retro:
        by_kind.setdefault(n.kind, []).append(" ".join(rendered(n)[1].split()))
    moved_on = formats.date_format(timezone.localdate() - timedelta(days=90), "DATE_FORMAT")
    [arrived] = {t for t in by_kind[Kind.PROPOSAL_ARRIVED] if "Rita" in t}
    assert f"On {moved_on} you were moved from {NAME} Platform to {NAME} Applied AI" in arrived
    assert "without being asked" in arrived and "or undraft?" in arrived
    assert "listed as having no consent on record" in arrived
    assert all("without being asked" in t for t in by_kind[Kind.DEADLINE_REMINDER])
    assert any("no consent on record" in t for t in by_kind[Kind.PROPOSAL_EXPIRED])
    assert any("whether you stay in" in t for t in by_kind[Kind.DEADLINE_EXTENDED])
    assert any("request to confirm your move" in t for t in by_kind[Kind.PROPOSAL_WITHDRAWN])


def test_an_undraft_is_called_an_undraft_in_every_email_about_it(every_notice):
    rita = every_notice["rita"]
    about_rita = [n for n in every_notice["notices"] if about(n, {rita.pk})]
    receipt = next(n for n in about_rita if n.kind == Kind.DECISION_RECEIPT)
    assert receipt.context["action"] == "opt_out"  # the ledger's action stays opt_out
    for n in about_rita:
        if n.kind not in (Kind.DECISION_RECEIPT, Kind.PROPOSAL_DECIDED):
            continue
        subject, text, html = rendered(n)
        assert "undrafted" in subject.lower(), subject
        assert "Undrafted" in text and "Undrafted" in html
        for words in (subject, text, html):
            assert "opted out" not in words.lower() and "opt out" not in words.lower()
    placement = next(n for n in every_notice["notices"] if n.kind == Kind.PLACEMENT_REQUESTED)
    subject, text, _html = rendered(placement)
    assert "undrafted from" in text and subject.startswith("New placement request (preferential)")


def strings_for(context: dict, language: str) -> list[str]:
    """Every date and time of a notice, in the one format of its granularity."""
    with translation.override(language):
        found = []
        for key, value in context.items():
            if key in ("deadline", "previous_deadline", "recorded_at", "applied_at") and value:
                found.append(datetime.fromisoformat(value))
            elif key in ("start_date", "day") and value:
                found.append(date.fromisoformat(value))
        for item in (context.get("items") or []) + (context.get("expiring") or []):
            found.append(datetime.fromisoformat(item["deadline"]))
        return [
            formats.date_format(timezone.localtime(v, NEW_YORK), "DATETIME_FORMAT")
            if isinstance(v, datetime)
            else formats.date_format(v, "DATE_FORMAT")
            for v in found
        ]


SHOWS_A_TIME = {
    Kind.PROPOSAL_ARRIVED,
    Kind.DEADLINE_REMINDER,
    Kind.DEADLINE_EXTENDED,
    Kind.DECISION_RECEIPT,
    Kind.PROPOSAL_DECIDED,
    Kind.PROPOSAL_EXPIRED,
    Kind.MOVE_EFFECTIVE,
    Kind.HR_DIGEST,
}


@pytest.mark.parametrize("language", ["en", "de"])
def test_dates_and_times_read_in_one_format_in_the_readers_zone_and_language(
    every_notice, language
):
    with translation.override(language):
        # Names of months and days: what is left of them after the one format is taken out
        # would be a second format (say the weekday-first "Friday 7 March 2025, 15:30 EST").
        words = [str(w) for w in (*MONTHS.values(), *WEEKDAYS.values())]
        words += [str(w).title() for w in MONTHS_3.values()]
    for n in every_notice["notices"]:
        subject, text, html = rendered(n, language=language, zone="America/New_York")
        expected = strings_for(n.context, language)
        where = f"{n.kind} {n.dedupe_key} ({language})"
        if n.kind in SHOWS_A_TIME:
            assert any(s in subject + text for s in expected), f"{where}: {expected}\n{text}"
        for part in (subject, text, html):
            rest = re.sub(r"https?://\S+", "", part)  # a port is not a time
            for s in sorted(set(expected), key=len, reverse=True):
                rest = rest.replace(s, "").replace(escape(s), "")
            assert not re.search(r"\d{1,2}:\d{2}", rest), f"{where}: another time format\n{rest}"
            assert not re.search(r"\d{4}-\d{2}-\d{2}", rest), f"{where}: an ISO date\n{rest}"
            left = [w for w in words if re.search(rf"\b{re.escape(w)}\b", rest)]
            assert not left, f"{where}: another date format ({left})\n{rest}"
            assert "UTC" not in rest, where
        assert "America/New_York" in text and "America/New_York" in html, where


def test_labels_are_worded_when_read_in_the_readers_language(every_notice):
    stored = [key for n in every_notice["notices"] for key in n.context if key.endswith("_label")]
    assert stored == []  # codes only: "action", "kind", "priority", "channel"
    receipt = next(
        n
        for n in every_notice["notices"]
        if n.kind == Kind.DECISION_RECEIPT and n.context["action"] == "undraft"
    )
    for language in ("en", "de"):
        subject, text, html = rendered(receipt, language=language)
        with translation.override(language):
            assert gettext("Undrafted") in text and gettext("Web form, signed in") in text
            day = formats.date_format(
                datetime.fromisoformat(receipt.context["recorded_at"]), "DATETIME_FORMAT"
            )
        assert day in text
    # The in-app list renders the same subject templates in the reader's language of the
    # moment (the middleware activates it), not in the language of whoever caused the notice.
    arrival = next(n for n in every_notice["notices"] if n.kind == Kind.PROPOSAL_ARRIVED)
    deadline = datetime.fromisoformat(arrival.context["deadline"])
    for language in ("en", "de"):
        with translation.override(language), timezone.override(NEW_YORK):
            title = subject_for(arrival)
            assert formats.date_format(timezone.localtime(deadline), "DATETIME_FORMAT") in title


def test_a_notice_written_during_a_german_request_reads_in_english_for_an_english_reader(
    every_notice,
):
    rita = every_notice["rita"]
    Notification.objects.filter(kind=Kind.DECISION_RECEIPT).delete()
    record = rita.employee.user.consent_records.get(action="opt_out")
    with translation.override("de"):
        emails.decision_receipt(record, rita)  # as if a German request had caused it
    receipt = Notification.objects.get(kind=Kind.DECISION_RECEIPT)
    subject, text, html = rendered(receipt, language="en")
    assert subject == f"Your receipt: you undrafted from {NAME} Applied AI"
    assert "Decision: Undrafted" in text
