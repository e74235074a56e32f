"""Every word a person reads on these pages and in these emails is marked for translation."""

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
OURS = sorted(
    [
        *TEMPLATES.glob("*.html"),
        *TEMPLATES.glob("assignments/*.html"),
        *TEMPLATES.glob("consent/*.html"),
        *TEMPLATES.glob("account/*.html"),
        *TEMPLATES.glob("allauth/layouts/*.html"),
        *TEMPLATES.glob("emails/*.html"),
        *TEMPLATES.glob("emails/*.txt"),
    ]
)
TRANSLATED = re.compile(
    r"{%\s*blocktranslate.*?{%\s*endblocktranslate\s*%}|{%\s*translate\s.*?%}", re.S
)
CODE = re.compile(r"{%.*?%}|{{.*?}}|{#.*?#}|<[^>]*>|&[a-z#0-9]+;", re.S)
COMMENT = re.compile(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", re.S)


def bare_words(source: str) -> list[str]:
    """Words left after removing translated blocks, template code, comments and HTML tags."""
    bare = CODE.sub(" ", TRANSLATED.sub(" ", COMMENT.sub("", source)))
    return re.findall(r"[^\W\d_]{2,}", bare)


@pytest.mark.parametrize("template", OURS, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_shows_untranslated_words(template):
    words = bare_words(template.read_text())
    assert not words, f"untranslated text in {template.name}: {words[:10]}"


def test_the_check_catches_bare_words_and_accepts_marked_ones():
    assert bare_words('<p>{% translate "Opt in" %} {{ x }}</p>') == []
    assert bare_words("<p>{% blocktranslate %}Hi {{ n }}{% endblocktranslate %}</p>") == []
    assert bare_words("<p>Opt out</p>") == ["Opt", "out"]
    assert bare_words("Decision:  {{ action_label }}\n") == ["Decision"]
    assert len([t for t in OURS if t.parent.name == "emails"]) >= 30


# --- Plain text stays plain -----------------------------------------------------------------

# Every name a message can show: an apostrophe and an ampersand are what autoescaping would
# turn into &#x27; and &amp;, and nobody wants to read "O&#x27;Brien" in a subject line.
NAME = "Zoë O'Brien & Co"
DEADLINE = datetime(2025, 3, 7, 15, 30, tzinfo=UTC)
PROPOSAL = {
    "kind": "transfer",
    "employee_name": NAME,
    "from_team": f"{NAME} Payments",
    "to_team": f"{NAME} Applied AI",
    "campaign": f"{NAME} task force",
    "role_description": "Evaluate models; 40% data labelling.",
    "data_labelling_percent": 40,
    "start_date": date(2025, 4, 1),
    "deadline": DEADLINE,
}
# Codes only: the templates choose the words (in the reader's language) when they render.
DECISION = {**PROPOSAL, "action": "opt_in", "recorded_at": DEADLINE}
RETROACTIVE = {**PROPOSAL, "kind": "retroactive"}
ITEM = {"employee_name": NAME, "to_team": f"{NAME} Applied AI", "deadline": DEADLINE}
LINK = {"link": "https://portal.example.test/proposals/1/"}

# One context per message and audience, with the keys its templates read (the producers in
# the app's emails.py fill the same keys).
MESSAGES = {
    "proposal_arrived": {**PROPOSAL, "proposer_name": NAME},
    "proposal_arrived/retroactive": {**RETROACTIVE, "proposer_name": NAME},
    "deadline_reminder": {**PROPOSAL, "hours": 24},
    "deadline_reminder/retroactive": {**RETROACTIVE, "hours": 24},
    "deadline_extended": {
        **PROPOSAL,
        "reason": f"{NAME} asked for it",
        "previous_deadline": DEADLINE,
    },
    "deadline_extended/retroactive": {**RETROACTIVE, "extended_for_leave": True},
    "decision_receipt": {
        **DECISION,
        "proposer_name": NAME,
        "record_id": 7,
        "receipt_url": "/receipts/7/",
        "terms_sha256": "ab" * 32,
        "record_hash": "cd" * 32,
        "channel": "web",
    },
    "decision_receipt/retroactive": {
        **RETROACTIVE,
        "action": "opt_out",
        "recorded_at": DEADLINE,
        "proposer_name": NAME,
        "channel": "web",
    },
    "proposal_decided": DECISION,
    "proposal_decided/retroactive": {**RETROACTIVE, "action": "opt_out", "recorded_at": DEADLINE},
    "proposal_withdrawn": {**PROPOSAL, "proposer_name": NAME, "reason": f"{NAME} said so"},
    "proposal_withdrawn/retroactive": {**RETROACTIVE, "proposer_name": NAME},
    "proposal_expired/employee": {**PROPOSAL, "audience": "employee"},
    "proposal_expired/retroactive": {**RETROACTIVE, "audience": "employee"},
    "proposal_expired/proposer": {"audience": "proposer", "count": 1, "items": [ITEM]},
    "proposal_expired/proposer-retroactive": {
        "audience": "proposer",
        "count": 2,
        "retroactive_count": 1,
        "items": [ITEM, {**ITEM, "kind": "retroactive"}],
    },
    "move_effective/employee": {**PROPOSAL, "audience": "employee"},
    "move_effective/proposer": {**PROPOSAL, "audience": "proposer"},
    "placement_requested": {
        "employee_name": NAME,
        "priority": 10,
        "source_team": f"{NAME} Applied AI",
        "preferences": [f"{NAME} Payments"],
    },
    "hr_digest": {
        "day": date(2025, 3, 7),
        "pending": 3,
        "expiring_soon": 1,
        "opted_in_24h": 1,
        "opted_out_24h": 0,
        "expired_24h": 2,
        "moves_24h": 1,
        "open_placement_requests": 1,
        "expiring": [ITEM],
    },
}
# Subjects that name nobody: counts and a date, or "a proposal expired".
NAMELESS_SUBJECTS = {
    "hr_digest",
    "proposal_expired/employee",
    "proposal_expired/proposer-retroactive",
}


def render(message: str, part: str) -> str:
    kind = message.split("/")[0]
    return render_to_string(f"emails/{kind}_{part}", {**MESSAGES[message], **LINK})


@pytest.mark.parametrize("message", MESSAGES)
def test_plain_text_shows_names_verbatim_without_html_entities(message):
    subject, body = render(message, "subject.txt"), render(message, "body.txt")
    if message not in NAMELESS_SUBJECTS:
        assert NAME in subject
    assert NAME in body
    assert LINK["link"] in body
    for text in (subject, body):
        assert "&#" not in text and "&amp;" not in text, text


@pytest.mark.parametrize("message", MESSAGES)
def test_the_html_body_escapes_names_exactly_once(message):
    html = render(message, "body.html")
    assert escape(NAME) in html
    assert NAME not in html  # never raw, not even in the <title> taken from the subject
    assert "&amp;amp;" not in html and "&amp;#" not in html  # never twice


def test_the_email_layout_names_the_active_language():
    with translation.override("de"):
        html = render("proposal_withdrawn", "body.html")
    assert '<html lang="de">' in html
