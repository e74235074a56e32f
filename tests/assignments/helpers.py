"""Shared words for tests that send proposals: a role description has to say what the work is
(`services.proposing.ROLE_DESCRIPTION_MIN_CHARS`), so tests describe it properly too."""

from assignments.services.proposing import ROLE_DESCRIPTION_MIN_CHARS

DAY_TO_DAY = (
    " Day to day: reviewing work with the team, writing short reports, and a weekly check-in "
    "with the new manager."
)


def describe(summary: str) -> str:
    """`summary`, followed by what the work is day to day: long enough to be sent."""
    text = summary + DAY_TO_DAY
    assert len(text) >= ROLE_DESCRIPTION_MIN_CHARS
    return text


# The description of the shared `proposal` fixture, as tests/conftest.py's first sentence.
ROLE = describe("Evaluate models; 40% data labelling.")
