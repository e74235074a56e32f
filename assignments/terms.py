"""The words of a proposal's terms: one source that the page renders, the ledger hashes and
the document store keeps, in the language the person reads.

A proposal's terms are frozen when it is sent: `facts_of` takes a snapshot of everything the
person is asked to agree to (who proposes, from and to which team, the role in plain words,
the share of data labelling, the start date, the campaign and its description, the facts
people compare offers by: grade, pay band change, location, new manager, expected duration
and a named contact for questions, and what saying no means), and `render` turns the
snapshot into the document the person reads, with every label and sentence in one language.
The sha256 of that document is on the proposal and on every ledger record about it. The page
renders the stored document, never live rows, so editing a campaign or a team after sending
changes nothing already sent; the deadline is not part of the terms (extending it changes
nothing the person agrees to).
"""

import functools
from datetime import date

from django.conf import settings
from django.utils import formats, translation
from django.utils.translation import gettext as _

from consent import terms as documents
from consent.models import TermsDocument
from people.selectors import display_name

FORMAT = "consent-portal/proposal-terms/3"
# Documents issued before the structured facts existed: the same shape, without their rows.
# Still rendered (translations of such a document must say exactly what it said) and shown.
FORMAT_2 = "consent-portal/proposal-terms/2"
RENDERED_FORMATS = (FORMAT, FORMAT_2)
# The structured facts (format 3 on), in the order the document lists them.
STRUCTURED = (
    "grade",
    "pay_band_change",
    "location",
    "new_manager",
    "expected_duration",
    "contact_name",
    "contact_email",
)


def facts_of(proposal, *, proposer_name: str) -> dict:
    """The language-neutral snapshot of what is proposed (JSON primitives only)."""
    campaign = proposal.campaign
    to_team = proposal.to_team
    return {
        "kind": proposal.kind,
        "proposer": proposer_name,
        "from_team": proposal.from_team.name if proposal.from_team else None,
        "to_team": to_team.name,
        "to_team_is_ai_initiative": to_team.kind == to_team.Kind.AI_INITIATIVE,
        "role_description": proposal.role_description,
        "data_labelling_percent": proposal.data_labelling_percent,
        "start_date": proposal.start_date.isoformat(),
        "campaign": campaign.name if campaign else None,
        "campaign_description": campaign.description if campaign else None,
        "terms_version": str(proposal.terms_version),
        **{name: getattr(proposal, name) or "" for name in STRUCTURED},
    }


def _guarantee(kind: str) -> tuple[str, list[str]]:
    """What saying no means, as the person reads it: the heading and its points."""
    if kind == "retroactive":
        return _("If you choose to undraft"), [
            _(
                "Nothing is held against you: undrafting is free and is never used in "
                "reviews, pay or promotion."
            ),
            _(
                "You get a preferential placement: HR offers you a team from your "
                "preferences ahead of other requests, and you decide on that offer too."
            ),
            _("You keep your grade and pay while you wait."),
            _(
                "You may give a reason. It stays private: your manager sees only your "
                "decision, never the reason."
            ),
            _(
                "If you do not answer by the deadline, you are listed as having no consent "
                "on record, never as agreeing. Silence is never a yes."
            ),
        ]
    points = [
        _("Nothing is lost: you keep your current team, role, grade and pay."),
        _("Saying no is never used in reviews, pay or promotion."),
    ]
    if kind == "placement_offer":
        points.append(
            _(
                "Your placement request stays open with its priority, and HR makes you "
                "another offer."
            )
        )
    else:
        points.append(
            _(
                "If you are ever moved against your wish, you can undraft and get a "
                "preferential placement in a team you choose."
            )
        )
    points += [
        _(
            "You may give a reason. It stays private: your manager sees only your "
            "decision, never the reason."
        ),
        _(
            "If you do not answer by the deadline, the proposal expires and nothing changes. "
            "Silence is never a yes."
        ),
    ]
    return _("If you say no"), points


@functools.lru_cache(maxsize=64)
def _words(language: str, kind: str, ai_initiative: bool) -> dict:
    """Every fixed label and sentence of one kind of document, in one language. Cached: a
    campaign renders thousands of documents, and the catalogue does not change while the
    process runs."""
    with translation.override(language):
        heading, points = _guarantee(kind)
        if kind == "retroactive":
            title = _("You were moved to %(team)s before this portal existed. Do you want to stay?")
            labels = [_("Proposed by"), _("Moved from"), _("Current team"), _("Moved on")]
        else:
            title = (
                _("Placement offer: join %(team)s")
                if kind == "placement_offer"
                else _("Proposal to join %(team)s")
            )
            labels = [_("Proposed by"), _("From team"), _("To team"), _("Start date")]
        retroactive = kind == "retroactive"
        return {
            "title": title,
            "labels": labels,
            "to_team": _("%(team)s (AI initiative)")
            if ai_initiative and kind != "retroactive"
            else "%(team)s",
            "no_team": _("no team"),
            "campaign": _("Campaign"),
            "data_labelling": _("Data labelling"),
            "share": _("%(percent)s%% of the work"),
            "share_sentence": _("About %(percent)s%% of this work is data labelling."),
            "work_heading": _("The work, in plain words"),
            "guarantee_heading": heading,
            "guarantee": points,
            # The structured facts (format 3): their labels, the pay band words, and what an
            # unstated fact reads as (said plainly, so a missing fact is visible).
            "structured": [
                _("Grade"),
                _("Pay band"),
                _("Location"),
                _("Manager") if retroactive else _("New manager"),
                _("Expected duration"),
                _("Contact for questions"),
            ],
            "pay_band": {
                "none": _("No change"),
                "up": _("Higher pay band"),
                "down": _("Lower pay band"),
            },
            "not_stated": _("Not stated"),
            "contact": _("%(name)s (%(email)s)"),
        }


@functools.lru_cache(maxsize=4096)
def _date(language: str, iso: str) -> str:
    with translation.override(language):
        return formats.date_format(date.fromisoformat(iso), "DATE_FORMAT")


def render(facts: dict, language: str) -> dict:
    """The document a reader of `language` is shown for these facts."""
    words = _words(language, facts["kind"], facts["to_team_is_ai_initiative"])
    team = facts["to_team"]
    percent = {"percent": facts["data_labelling_percent"]}
    values = [
        facts["proposer"],
        facts["from_team"] or words["no_team"],
        words["to_team"] % {"team": team},
        _date(language, facts["start_date"]),
    ]
    rows = [list(pair) for pair in zip(words["labels"], values, strict=True)]
    if facts["campaign"]:
        rows.append([words["campaign"], facts["campaign"]])
    rows.append([words["data_labelling"], words["share"] % percent])
    structured = "grade" in facts  # format 3 facts; format 2 documents had none of these rows
    if structured:
        rows += _structured_rows(facts, words)
    work = [p.strip() for p in facts["role_description"].split("\n\n") if p.strip()]
    work.append(words["share_sentence"] % percent)
    if facts["campaign_description"]:
        work.append(facts["campaign_description"])
    return {
        "format": FORMAT if structured else FORMAT_2,
        "language": language,
        "facts": facts,
        "title": words["title"] % {"team": team},
        "rows": rows,
        "work_heading": words["work_heading"],
        "work": work,
        "guarantee_heading": words["guarantee_heading"],
        "guarantee": list(words["guarantee"]),
        "version": facts["terms_version"],
    }


def _structured_rows(facts: dict, words: dict) -> list[list[str]]:
    missing = words["not_stated"]
    contact = facts["contact_name"]
    if contact and facts["contact_email"] and contact != facts["contact_email"]:
        contact = words["contact"] % {"name": contact, "email": facts["contact_email"]}
    values = [
        facts["grade"],
        words["pay_band"].get(facts["pay_band_change"], ""),
        facts["location"],
        facts["new_manager"],
        facts["expected_duration"],
        contact or facts["contact_email"],
    ]
    labels = words["structured"]
    return [[label, value or missing] for label, value in zip(labels, values, strict=True)]


def language_for(employee) -> str:
    """The language a proposal's terms are first issued in: the person's own, else the site's."""
    supported = dict(settings.LANGUAGES)
    return employee.language if employee.language in supported else settings.LANGUAGE_CODE


def issue(proposals, *, proposer) -> list[TermsDocument]:
    """Render, store and pin the terms of new (unsaved) proposals: sets `terms_sha256`.

    People in a campaign who share the same facts (same team, start, role, campaign) share
    one document, so a send of thousands stores only as many documents as there are
    different texts.
    """
    proposer_name = display_name(proposer)
    rendered: dict[tuple, TermsDocument] = {}
    for proposal in proposals:
        facts = facts_of(proposal, proposer_name=proposer_name)
        language = language_for(proposal.employee)
        key = (language, *sorted((k, str(v)) for k, v in facts.items()))
        document = rendered.get(key)
        if document is None:
            document = rendered[key] = documents.document_for(
                render(facts, language), language=language
            )
        proposal.terms_sha256 = document.sha256
    documents.store(list(rendered.values()))
    return list(rendered.values())


def store_issued(proposals) -> int:
    """Store the documents of proposals whose terms were fingerprinted but not stored (bulk
    imports, the bench seeder): re-rendered from their rows, and stored only where the result
    has exactly the fingerprint on record, so these are provably the words issued. Returns
    how many were stored."""
    found = []
    for proposal in proposals:
        facts = facts_of(proposal, proposer_name=display_name(proposal.proposed_by))
        language = language_for(proposal.employee)
        candidates = [facts]
        if not any(facts[name] for name in STRUCTURED):
            # Fingerprinted before the structured facts existed (format 2): a proposal that
            # states none of them reads the same in that format.
            candidates.append({k: v for k, v in facts.items() if k not in STRUCTURED})
        for candidate in candidates:
            document = documents.document_for(render(candidate, language), language=language)
            if document.sha256 == proposal.terms_sha256:
                found.append(document)
                break
    documents.store(found)
    return len(found)


def shown_document(proposal, language: str) -> TermsDocument | None:
    """The document to show this proposal's person in `language`: the one issued, or its
    translation (rendered from the same stored facts, stored on first view).

    None for proposals from before terms were stored whose words could not be recovered.
    """
    original = documents.find(proposal.terms_sha256)
    if original is None:
        return None
    content = original.content
    if original.language == language or language not in dict(settings.LANGUAGES):
        return original
    if content.get("format") not in RENDERED_FORMATS:  # from before translations existed
        return original
    translated = documents.document_for(
        render(content["facts"], language), language=language, translation_of=original.sha256
    )
    documents.store([translated])
    return translated


def is_shown_terms(proposal, sha256: str) -> bool:
    """Whether `sha256` names a stored document of this proposal's terms: the one issued, or
    a translation of it. Nobody can agree to words that were never stored."""
    if sha256 == proposal.terms_sha256:
        return documents.find(sha256) is not None
    return documents.translations_of(proposal.terms_sha256).filter(sha256=sha256).exists()


def display(document: TermsDocument) -> dict:
    """What the page shows of a stored document. Documents of formats 2 and 3 are shown as
    stored (format 2 simply has no structured-fact rows). Documents of the first format (a
    dictionary of the proposal's fields, stored by migration) are shown field by field, in
    English, with the one guarantee sentence they held."""
    content = document.content
    if content.get("format") in RENDERED_FORMATS:
        return {**content, "first_format": False}
    return {
        "language": "en",
        "title": _("Proposal to join %(team)s") % {"team": content["to_team"]},
        "rows": [
            [_("From team"), content.get("from_team") or _("no team")],
            [_("To team"), content["to_team"]],
            [_("Start date"), content["start_date"]],
            [_("Campaign"), content.get("campaign") or "-"],
            [_("Data labelling"), f"{content['data_labelling_percent']}%"],
        ],
        "work_heading": _("The work, in plain words"),
        "work": [content["role_description"], content.get("campaign_description") or ""],
        "guarantee_heading": _("If you say no"),
        "guarantee": [content["opt_out_guarantee"]],
        "version": content["terms_version"],
        "first_format": True,
    }


def may_read(user, document: TermsDocument) -> bool:
    """consent.kinds reader: HR, and the person a proposal with these terms is about."""
    from assignments.models import Proposal
    from people.roles import is_hr

    if is_hr(user):
        return True
    issued = document.translation_of or document.sha256
    return Proposal.objects.filter(employee__user=user, terms_sha256=issued).exists()
