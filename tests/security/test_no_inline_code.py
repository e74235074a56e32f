"""No template holds inline code the Content Security Policy would block: scripts are files,
handlers are bound from those files, styles live in static/css. (Emails are not pages: mail
clients need inline styles, and no CSP applies there.)"""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
STYLE = re.compile(r"<style\b|\sstyle\s*=", re.I)
JAVASCRIPT_URL = re.compile(r"javascript:", re.I)


def test_no_template_has_an_inline_script_handler_or_style():
    found = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        if "emails" in template.relative_to(TEMPLATES).parts:
            continue
        text = template.read_text()
        for name, pattern in (
            ("inline <script>", INLINE_SCRIPT),
            ("on…= handler", HANDLER),
            ("inline style", STYLE),
            ("javascript: URL", JAVASCRIPT_URL),
        ):
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{template.relative_to(TEMPLATES)}:{line}: {name}")
    assert not found, "\n".join(found)
