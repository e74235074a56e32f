"""German ships complete: every entry of locale/de/ translated, faithfully to its placeholders
and to the product's terms; every string in the code in the catalogue; the committed .mo
compiled from the committed .po; and the pages and emails people read really are German,
whether the browser asks for it or the person chose it (the language switcher).

A new string anywhere in the code fails `test_every_string_in_the_code_is_in_the_catalogue`
until it is translated: run the README's makemessages command, translate, compilemessages.
"""

import html
import os
import re
import shutil
from io import StringIO
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from assignments import terms
from assignments.services import opt_in, propose_transfer
from consent import terms as documents
from consent.models import ConsentRecord
from notifications.models import Notification
from notifications.rendering import render
from people.models import Employee
from tests.assignments.helpers import describe
from tests.conftest import WEB
from tests.lifecycle.test_email_plain_text import every_notice  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "locale" / "de" / "LC_MESSAGES" / "django.po"
COMPILED = CATALOGUE.with_suffix(".mo")
# What the README's makemessages command reads: the code people see, not tests or tooling.
SKIPPED_DIRS = {
    ".venv",
    ".git",
    "tests",
    "bench",
    "staticfiles",
    "var",
    "locale",
    "node_modules",
    "__pycache__",
}
EXTENSIONS = {".py", ".html", ".txt"}

PLACEHOLDER = re.compile(r"%\([A-Za-z_]\w*\)[sd]|%%|\{\{.*?\}\}")
TAG = re.compile(r"</?[a-z][a-z0-9]*\b[^>]*>|&[a-z]+;")
SHY = "\u00ad"


def key(entry) -> tuple:
    return (entry.msgctxt, entry.msgid, entry.msgid_plural)


def translations(entries) -> dict:
    """What a catalogue says, entry by entry (the header left out)."""
    return {
        key(e): (tuple(e.msgstr_plural[i] for i in sorted(e.msgstr_plural)) or e.msgstr)
        for e in entries
        if e.msgid and not e.obsolete
    }


@pytest.fixture(scope="module")
def catalogue():
    return polib.pofile(str(CATALOGUE))


def forms(entry) -> list[str]:
    """The translation's forms, without soft hyphens (U+00AD: where a long German word on a
    narrow button may break, invisible otherwise)."""
    if entry.msgid_plural:
        return [entry.msgstr_plural[i].replace(SHY, "") for i in sorted(entry.msgstr_plural)]
    return [entry.msgstr.replace(SHY, "")]


# --- (a) the catalogue itself -----------------------------------------------------------------


def test_the_catalogue_is_german_with_two_plural_forms(catalogue):
    assert catalogue.metadata["Language"] == "de"
    assert catalogue.metadata["Plural-Forms"].replace(" ", "") == "nplurals=2;plural=(n!=1);"
    assert catalogue.metadata["Content-Type"] == "text/plain; charset=UTF-8"
    assert not catalogue.metadata_is_fuzzy
    assert len(catalogue) > 800


def test_every_entry_is_translated_and_none_is_fuzzy_or_obsolete(catalogue):
    untranslated = [e.msgid for e in catalogue if not all(f.strip() for f in forms(e))]
    fuzzy = [e.msgid for e in catalogue if "fuzzy" in e.flags]
    obsolete = [e.msgid for e in catalogue.obsolete_entries()]
    plural_forms = [e.msgid for e in catalogue if e.msgid_plural and len(e.msgstr_plural) != 2]
    assert not untranslated, f"{len(untranslated)} untranslated: {untranslated[:5]}"
    assert not fuzzy, f"fuzzy entries: {fuzzy[:5]}"
    assert not obsolete, (
        f"obsolete entries (code no longer uses them; makemessages --no-obsolete drops them): "
        f"{obsolete[:5]}"
    )
    assert not plural_forms, f"entries without both German plural forms: {plural_forms[:5]}"


def test_every_translation_keeps_its_placeholders_and_markup(catalogue):
    wrong = []
    for e in catalogue:
        for i, form in enumerate(forms(e)):
            source = e.msgid_plural if e.msgid_plural and i else e.msgid
            for pattern in (PLACEHOLDER, TAG):
                want, got = sorted(pattern.findall(source)), sorted(pattern.findall(form))
                # A singular form may leave out the count ("1 Person" reads as "eine Person").
                if want != got and not (e.msgid_plural and i == 0 and set(got) <= set(want)):
                    wrong.append((e.msgid, want, got))
    assert not wrong, wrong[:5]


# One German term for one act, on every page, email and receipt (the catalogue's header).
TERMS = [
    (re.compile(r"\bundraft", re.I), re.compile(r"Rückversetzung")),
    (re.compile(r"no consent on record", re.I), re.compile(r"Kein Einverständnis erfasst")),
    (re.compile(r"\bopt(ed|ing|s)? in\b", re.I), re.compile(r"[Zz]u(ge)?stimm")),
    (re.compile(r"\bopt(ed|ing|s)? out\b", re.I), re.compile(r"[Aa]b(ge)?lehn|Nein")),
    (re.compile(r"withdr[ae]w (your |their )?consent", re.I), re.compile(r"widerr[ua]f", re.I)),
    (
        re.compile(r"\bsaying no (is )?free\b", re.I),
        re.compile(r"[Ee]in Nein (kostet (Sie|sie) nichts|nichts kostet)"),
    ),
    (re.compile(r"silence is never a yes", re.I), re.compile(r"Schweigen ist niemals ein Ja")),
    (re.compile(r"silence is never consent", re.I), re.compile(r"Schweigen ist niemals")),
    (re.compile(r"\bdata labelling\b", re.I), re.compile(r"Datenannotation")),
]


def test_each_act_has_one_german_name_and_the_promises_are_not_softened(catalogue):
    inconsistent = [
        (e.msgid, form)
        for e in catalogue
        for english, german in TERMS
        if english.search(e.msgid)
        for form in forms(e)
        if not german.search(form)
    ]
    assert not inconsistent, inconsistent[:5]
    formal = [e.msgid for e in catalogue for f in forms(e) if re.search(r"\b(du|dein\w*)\b", f)]
    assert not formal, f"informal address: {formal[:5]}"


# --- (b) nothing in the code is missing from it -----------------------------------------------


def _copy_sources(destination: Path) -> None:
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".")]
        for name in files:
            path = Path(folder) / name
            if path.suffix in EXTENSIONS:
                target = destination / path.relative_to(ROOT)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)


def _needs_gettext():
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        message = "xgettext is missing: apt-get install gettext (.ci/run does it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def test_every_string_in_the_code_is_in_the_catalogue(catalogue, tmp_path, settings, monkeypatch):
    """makemessages over a copy of the tree, into a catalogue of its own: every msgid it finds
    must be in the committed one (with the same plural), or the new string is untranslated."""
    _needs_gettext()
    tree = tmp_path / "tree"
    _copy_sources(tree)
    (tree / "locale").mkdir()
    settings.LOCALE_PATHS = [str(tree / "locale")]
    monkeypatch.chdir(tree)
    call_command(
        "makemessages",
        locale=["de"],
        extensions=["html", "txt", "py"],
        verbosity=0,
        stdout=StringIO(),
        stderr=StringIO(),
    )
    extracted = polib.pofile(str(tree / "locale" / "de" / "LC_MESSAGES" / "django.po"))
    found = {key(e) for e in extracted if e.msgid}
    assert len(found) > 800
    committed = {key(e) for e in catalogue if not e.obsolete}
    missing = sorted(found - committed, key=str)
    assert not missing, (
        f"{len(missing)} string(s) in the code are not in locale/de (run makemessages, "
        f"translate, compilemessages; README, 'Languages and time zones'): {missing[:8]}"
    )


# --- (c) the committed .mo is the committed .po -----------------------------------------------


def test_the_compiled_catalogue_is_up_to_date(catalogue, tmp_path):
    fresh = tmp_path / "django.mo"
    catalogue.save_as_mofile(str(fresh))
    compiled = translations(polib.mofile(str(COMPILED)))
    wanted = translations(polib.mofile(str(fresh)))
    stale = {k for k in wanted.keys() | compiled.keys() if wanted.get(k) != compiled.get(k)}
    assert not stale, (
        f"django.mo differs from django.po in {len(stale)} entries (run "
        f"`python manage.py compilemessages -l de --ignore=.venv`): {sorted(stale, key=str)[:5]}"
    )


def test_django_reads_the_compiled_catalogue():
    with translation.override("de"):
        assert gettext("Opt in") == "Zustimmen"
        assert gettext("Opt out") == "Ablehnen"
        assert gettext("Undraft").replace(SHY, "") == "Rückversetzung beantragen"
        assert gettext("No consent on record") == "Kein Einverständnis erfasst"


# --- (d) the pages read German ----------------------------------------------------------------


@pytest.fixture(scope="module")
def english_sentences(catalogue):
    """Whole English sentences of the catalogue (four words or more, no placeholder): none of
    them may appear on a German page or in a German email."""
    return [
        e.msgid
        for e in catalogue
        if not e.msgid_plural
        and len(e.msgid.split()) >= 4
        and not PLACEHOLDER.search(e.msgid)
        and not TAG.search(e.msgid)
        and e.msgstr != e.msgid
    ]


def visible_text(body: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def assert_german(text: str, english_sentences, *, german=(), english=()):
    for sentence in german:
        assert sentence in text, f"missing German: {sentence!r}\n{text[:2000]}"
    left = [s for s in (*english, *english_sentences) if s in text]
    assert not left, f"English on a German page: {left[:5]}"


def german_page(client, path, **extra):
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="de", **extra)
    assert response.status_code == 200, (path, response.status_code)
    assert response["Content-Language"] == "de"
    body = response.content.decode()
    assert '<html lang="de"' in body
    return visible_text(body)


@pytest.mark.django_db
def test_the_employee_pages_read_german(eve_client, employee, proposal, english_sentences):
    inbox = german_page(eve_client, "/inbox/")
    assert_german(
        inbox,
        english_sentences,
        german=["Meine Vorschläge", "Vorschlag: Wechsel zu Applied AI", "Antwort bis zum"],
        english=["My proposals", "Answer by", "Proposal: join"],
    )

    page = german_page(eve_client, reverse("assignments:proposal", args=[proposal.pk]))
    assert_german(
        page,
        english_sentences,
        german=[
            "Vorschlag: Wechsel zu Applied AI",
            "Die Fakten",
            "Die Tätigkeit in einfachen Worten",
            "Etwa 40 % dieser Arbeit ist Datenannotation.",
            "Wenn Sie ablehnen",
            "Sie verlieren nichts: Sie behalten Ihr aktuelles Team, Ihre Rolle, Ihre Einstufung "
            "und Ihr Gehalt.",
            "Schweigen ist niemals ein Ja.",
            "Zustimmen",
            "Ablehnen",
            "Ein Nein kostet Sie nichts.",
            "Fingerabdruck dieser Bedingungen",
            "Sprache ändern",
        ],
        english=["The facts", "If you say no", "Opt in", "Opt out", "Silence is never a yes"],
    )

    confirm = german_page(eve_client, reverse("assignments:opt_in", args=[proposal.pk]))
    assert_german(
        confirm,
        english_sentences,
        german=["Bestätigen: Sie möchten zustimmen", "Abbrechen, zurück"],
        english=["Confirm: you want to opt in"],
    )

    # She agrees to the German words she read (a translation of the document first issued).
    shown = terms.shown_document(proposal, "de")
    assert shown.language == "de" and shown.translation_of == proposal.terms_sha256
    opt_in(proposal=proposal, actor=employee.user, terms_sha256=shown.sha256, context=WEB)
    record = ConsentRecord.objects.get()
    assert record.terms_sha256 == shown.sha256
    receipt = german_page(eve_client, reverse("consent:receipt", args=[record.pk]))
    assert_german(
        receipt,
        english_sentences,
        german=[
            "Beleg: Zugestimmt",
            "Was entschieden wurde Vorschlag: Wechsel zu Applied AI Vorgeschlagen von Morgan",
            "Beleg herunterladen (JSON)",
        ],
        english=["Receipt: Opted in", "Download receipt (JSON)", "Proposed by"],
    )


@pytest.mark.django_db
def test_the_manager_and_hr_landing_pages_read_german(
    client, manager, hr_user, proposal, settings, english_sentences
):
    settings.PORTAL_REQUIRE_MFA = False
    client.force_login(manager.user)
    team = german_page(client, reverse("assignments:team_proposals"))
    assert_german(
        team,
        english_sentences,
        german=["Team-Vorschläge", "Eve Employee", "Wartet auf Antwort", "Versetzung vorschlagen"],
        english=["Team proposals", "Propose transfer", "Waiting for an answer"],
    )

    client.force_login(hr_user)
    workspace = german_page(client, "/hr/")
    assert_german(
        workspace,
        english_sentences,
        german=[
            "HR-Arbeitsbereich",
            "Sie schlagen vor und bieten an; nur die Person selbst entscheidet.",
            "Kampagnen",
            "Vermittlungswarteschlange",
        ],
        english=["HR workspace", "Campaigns", "Placement queue"],
    )


# --- (e) the emails read German ---------------------------------------------------------------

# What each kind of message says, in German (subject or body; a regular expression).
EMAIL_WORDS = {
    Notification.Kind.PROPOSAL_ARRIVED: "Antwort bis zum",
    Notification.Kind.DEADLINE_REMINDER: "Erinnerung: Noch",
    Notification.Kind.DEADLINE_EXTENDED: "Mehr Zeit",
    Notification.Kind.DECISION_RECEIPT: "Ihr Beleg",
    Notification.Kind.PROPOSAL_DECIDED: "hat (auf|sich|dem|den|die) ",
    Notification.Kind.PROPOSAL_EXPIRED: "ohne Antwort abgelaufen|Keine Antwort",
    Notification.Kind.PROPOSAL_WITHDRAWN: "Zurückgezogen",
    Notification.Kind.MOVE_EFFECTIVE: "wirksam geworden",
    Notification.Kind.PLACEMENT_REQUESTED: "Neuer Vermittlungsantrag",
    Notification.Kind.HR_DIGEST: "HR-Zusammenfassung",
    "data_use_receipt": "Ihr Beleg: Sie haben",
    "data_use_asked_again": "hat sich geändert: Bitte entscheiden Sie erneut",
    "data_use_lapse_reminder": "Ihre Einwilligung zu .* erlischt am",
}


def data_use_receipts(employee) -> list[Notification]:
    """One data-use receipt per choice, from the data-use app's own producer."""
    from types import SimpleNamespace

    from django.utils import timezone

    from datause.emails import LapseDue, asked_again, data_use_receipt, lapse_reminders

    purpose = SimpleNamespace(
        title="Keystrokes for the typing model",
        version=2,
        validity_months=12,
        collecting_system="TypeTrainer",
    )
    for pk, action in enumerate(("opt_in", "opt_out", "withdraw"), start=900001):
        record = SimpleNamespace(
            pk=pk,
            subject_id=employee.user_id,
            action=action,
            recorded_at=timezone.now(),
            terms_sha256="ab" * 32,
            hash="cd" * 32,
        )
        data_use_receipt(record, purpose, employee)
    purpose.pk = 900001
    asked_again(purpose, [(employee.user_id, employee.name)])
    lapse_reminders([LapseDue(900001, employee.user_id, employee.name, purpose, timezone.now())])
    return list(Notification.objects.filter(kind__startswith="data_use_"))


@pytest.mark.django_db
def test_every_email_reads_german_for_a_german_reader(every_notice, english_sentences):  # noqa: F811
    Employee.objects.update(language="de")
    notices = every_notice["notices"]
    if "data_use_receipt" in Notification.Kind.values:
        notices += data_use_receipts(Employee.objects.first())
    assert {n.kind for n in notices} == set(Notification.Kind.values)
    assert set(EMAIL_WORDS) == set(Notification.Kind.values), "a kind without a German check"
    for n in notices:
        subject, text, body = render(n)
        where = f"{n.kind} {n.dedupe_key}"
        flat = " ".join(text.split())
        assert re.search(EMAIL_WORDS[n.kind], subject + " " + flat), f"{where}: {subject}\n{text}"
        assert "Zeiten werden in" in text and "Zeiten werden in" in body, where
        assert '<html lang="de">' in body, where
        for part in (subject, flat, visible_text(body)):
            left = [s for s in english_sentences if s in part]
            assert not left, f"{where}: English in a German email: {left[:3]}\n{part}"


@pytest.mark.django_db
def test_an_undraft_is_a_rueckversetzung_in_every_german_email_about_it(every_notice):  # noqa: F811
    Employee.objects.update(language="de")
    rita = every_notice["rita"]
    for n in every_notice["notices"]:
        ids = n.context.get("proposal_ids") or [n.context.get("proposal_id")]
        if rita.pk not in ids or n.kind not in ("decision_receipt", "proposal_decided"):
            continue
        subject, text, body = render(n)
        assert "Rückversetzung" in subject, subject
        assert "Rückversetzung beantragt" in text and "Rückversetzung beantragt" in body
        assert "abgelehnt" not in (subject + text).lower()


# --- The person's own setting: the language switcher ------------------------------------------

SWITCH = "/settings/language/"


@pytest.mark.django_db
def test_a_person_who_chooses_german_reads_pages_emails_and_new_terms_in_german(
    eve_client, employee, manager, ai_team, payments, proposal, deadline, start_date
):
    page = eve_client.get("/inbox/").content.decode()  # the browser asks for nothing
    assert 'action="/settings/language/"' in page
    assert '<label for="language-choice">Language</label>' in page
    assert "Change language" in page

    response = eve_client.post(SWITCH, {"language": "de", "next": "/inbox/"})
    assert response.status_code == 302 and response.url == "/inbox/"
    employee.refresh_from_db()
    assert employee.language == "de"

    inbox = visible_text(eve_client.get("/inbox/").content.decode())
    assert "Meine Vorschläge" in inbox and "My proposals" not in inbox
    # Her setting wins over her browser's.
    english_browser = eve_client.get("/inbox/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Meine Vorschläge" in english_browser.content.decode()

    # A new proposal to her: its email and its terms document are German.
    Notification.objects.all().delete()
    new = propose_transfer(
        employee=employee,
        to_team=payments,
        actor=manager.user,
        role_description=describe("Reconcile card payments."),
        start_date=start_date,
        response_deadline=deadline,
    )
    assert terms.language_for(employee) == "de"
    document = documents.find(new.terms_sha256)
    assert document.language == "de"
    assert document.content["title"] == "Vorschlag: Wechsel zu Payments"
    assert document.content["guarantee_heading"] == "Wenn Sie ablehnen"
    arrived = Notification.objects.get(recipient=employee.user, kind="proposal_arrived")
    subject, text, body = render(arrived)
    assert subject.startswith("Neuer Vorschlag: Wechsel zu Payments?"), subject
    assert "schlägt vor, dass Sie ab dem" in text and "Ein Nein kostet Sie nichts." in text

    # And back: English, stored on her record too.
    eve_client.post(SWITCH, {"language": "en", "next": "/inbox/"}, HTTP_ACCEPT_LANGUAGE="de")
    employee.refresh_from_db()
    assert employee.language == "en"
    assert "My proposals" in eve_client.get("/inbox/", HTTP_ACCEPT_LANGUAGE="de").content.decode()


@pytest.mark.django_db
def test_without_an_employee_record_or_signed_out_the_choice_is_kept_in_the_cookie(
    client, hr_user, settings
):
    response = client.post(SWITCH, {"language": "de", "next": "/accounts/login/"})
    assert response.status_code == 302 and response.url == "/accounts/login/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    login = client.get("/accounts/login/").content.decode()
    assert "Verwenden Sie Ihre dienstliche E-Mail-Adresse" in login

    settings.PORTAL_REQUIRE_MFA = False
    other = Client()
    other.force_login(hr_user)  # HR without an Employee row
    response = other.post(SWITCH, {"language": "de", "next": "/hr/"})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    assert "HR-Arbeitsbereich" in other.get("/hr/").content.decode()
    assert not Employee.objects.filter(user=hr_user).exists()


@pytest.mark.django_db
def test_the_switcher_goes_back_only_to_this_site_and_takes_only_known_languages(
    eve_client, employee
):
    for unsafe in ("https://evil.example/phish", "//evil.example/", "javascript:alert(1)"):
        response = eve_client.post(SWITCH, {"language": "de", "next": unsafe})
        assert response.status_code == 302 and response.url == "/", unsafe
    response = eve_client.post(SWITCH, {"language": "de"}, HTTP_REFERER="http://testserver/inbox/")
    assert response.url == "http://testserver/inbox/"
    assert eve_client.post(SWITCH, {"language": "xx"}).status_code == 400
    assert eve_client.get(SWITCH).status_code == 405
    employee.refresh_from_db()
    assert employee.language == "de"
