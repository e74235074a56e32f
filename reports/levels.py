"""Job level, derived from the job title: the one place that says which title is which level.

The HRIS sends a free-text title (`Employee.title`), not a level, so the dashboards' "by job
level" breakdown groups titles by the words in them. The first rule that matches wins, so
"Senior Engineering Manager" is a manager and "Staff Engineer" is staff. A title no rule
knows counts as mid-level; a missing one as "not recorded".
"""

import re

from django.utils.translation import gettext_lazy as _

NOT_RECORDED = "not_recorded"
# (level, label, words in the title that mean it), first match wins; displayed in this order.
LEVELS = (
    ("intern", _("Intern or apprentice"), {"intern", "apprentice", "trainee", "working student"}),
    ("director", _("Director and above"), {"director", "vp", "vice president", "chief", "head"}),
    ("manager", _("Manager"), {"manager"}),
    ("staff", _("Staff, principal or architect"),
     {"staff", "principal", "distinguished", "architect", "fellow"}),
    ("senior", _("Senior"), {"senior", "sr", "lead", "iii"}),
    ("junior", _("Junior"), {"junior", "jr", "associate", "graduate", "i"}),
    ("mid", _("Mid-level"), set()),
    (NOT_RECORDED, _("Not recorded"), set()),
)  # fmt: skip
LABELS = {level: label for level, label, _words in LEVELS}
ORDER = {level: n for n, (level, _label, _words) in enumerate(LEVELS)}
_WORDS = re.compile(r"[a-z]+")


def level_of(title: str | None) -> str:
    """The job level a title names (a key of LABELS)."""
    if not title or not title.strip():
        return NOT_RECORDED
    words = _WORDS.findall(title.lower())
    text = " ".join(words)
    present = set(words)
    for level, _label, markers in LEVELS:
        if any(marker in present if " " not in marker else marker in text for marker in markers):
            return level
    return "mid"
