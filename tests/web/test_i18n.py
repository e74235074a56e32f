"""Every word a person reads on these pages is marked for translation."""

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
OURS = sorted(
    [
        *TEMPLATES.glob("*.html"),
        *TEMPLATES.glob("assignments/*.html"),
        *TEMPLATES.glob("consent/*.html"),
        *TEMPLATES.glob("account/*.html"),
        *TEMPLATES.glob("allauth/layouts/*.html"),
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
    assert len(OURS) >= 20
