"""JSON bodies, refused up front when they hold text no database column can store.

PostgreSQL text cannot contain NUL, and a lone surrogate (\\udc80) is not valid UTF-8: either
would fail deep inside a save as a server error. Here it is a 400 that says what is wrong.
"""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def has_bad_text(value) -> bool:
    """Whether a parsed JSON value holds text no database column can store (NUL, a lone
    surrogate), in a key or a value at any depth."""
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(has_bad_text(k) or has_bad_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_bad_text(v) for v in value)
    return False


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
            bad = has_bad_text(data)
        except RecursionError:  # "[[[[…" a thousand deep: the parser gives up, not the server
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
        if bad:
            raise ParseError(
                "The body contains a NUL character or text that is not valid Unicode "
                "(a lone surrogate); remove it and send the request again."
            )
        return data
