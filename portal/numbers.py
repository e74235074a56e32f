"""Numbers typed into query strings and forms, read the one way every page reads them.

`str.isdigit()` accepts "²" and "٣", which `int()` refuses (a 500), and a plain run of digits
can exceed the database's bigint (another 500, from PostgreSQL). An id or a page number that
is not plain ASCII digits within range is simply not one: the caller treats it as absent.
"""

BIGINT_MAX = 2**63 - 1


def as_id(text) -> int | None:
    """A row id from user input ("42"), or None for anything else ("", "²", "-1", "9" * 30)."""
    text = str(text)
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= BIGINT_MAX else None


def as_page(text, *, last: int = 10**6) -> int:
    """A 1-based page number from user input; 1 for anything that is not one, at most `last`
    (an offset computed from it must stay a bigint too)."""
    number = as_id(text)
    return min(number, last) if number is not None else 1
