"""Every word of the data-use pages and emails is marked for translation."""

from pathlib import Path

import pytest

from tests.web.test_i18n import bare_words

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
OURS = sorted([*TEMPLATES.glob("datause/*.html"), *TEMPLATES.glob("emails/data_use_*")])


@pytest.mark.parametrize("template", OURS, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_data_use_template_shows_untranslated_words(template):
    assert not bare_words(template.read_text())
