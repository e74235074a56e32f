"""Ids and page numbers from user input (portal.numbers): anything that is not one is absent."""

import pytest

from portal.numbers import BIGINT_MAX, as_id, as_page


@pytest.mark.parametrize(
    "text, expected",
    [("42", 42), ("007", 7), (str(BIGINT_MAX), BIGINT_MAX), ("", None), ("0", None),
     ("-1", None), ("²", None), ("٣", None), ("4 2", None), ("1e3", None),
     (str(BIGINT_MAX + 1), None), ("9" * 30, None), ("\x00", None)],
)  # fmt: skip
def test_an_id_is_plain_ascii_digits_within_a_bigint(text, expected):
    assert as_id(text) == expected


def test_a_page_number_falls_back_to_the_first_and_stays_in_range():
    assert as_page("3") == 3
    assert as_page("²") == as_page("-2") == as_page("") == 1
    assert as_page("9" * 30) == 1
    assert as_page(str(10**9)) == 10**6
