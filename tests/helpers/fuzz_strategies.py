"""Hypothesis strategies for hostile HTTP input, shared by the route fuzz tests.

Values are built as an attacker sends them, not as a polite client would: query strings and
form bodies are percent-encoded *bytes*, so a lone surrogate goes out as `%ED%A0%80` and a NUL
as `%00`; JSON bodies carry `"\\ud800"` escapes, nesting thousands deep and numbers no column
holds; header values are latin-1 bytes. Nothing here knows about a particular route: give the
strategies the parameter or field names a route reads (`query_strings(["key", "tz"])`) and
they mix those names with junk ones.

The pieces, smallest first:

- `TRICKY_STRINGS`: hand-picked values that broke, or nearly broke, real parsers (non-ASCII
  digits that `str.isdigit()` accepts, dates at the ends of the calendar, numbers past 2**63).
- `hostile_text()`, `spiked()` (a plausible value with one of `SPIKES` in it),
  `other_digits()`, `numeric_strings()`, `date_strings()`, `long_strings()`: generated
  families of the same.
- `hostile_strings()`: all of the above, the one to use for "any value"; `weighted()` mixes
  strategies in given proportions.
- `query_strings(names)`, `form_bodies(names)`, `json_bodies(names)`, `request_bodies(names)`:
  wire-ready request parts; `header_values()`, `content_types()`, `header_sets(names)` and
  `cookie_headers(names)` for headers.

Each generator leans hard towards the values that break things (Hypothesis does not search
for them by itself when every example is a network round trip):
tests/integration/test_fuzz_routes.py finds every bug it pins with ~60-150 derandomized
examples per route family.
"""

from __future__ import annotations

import json
from datetime import date
from urllib.parse import quote_from_bytes

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# --- single values ------------------------------------------------------------------------

TRICKY_STRINGS: tuple[str, ...] = (
    # empty and blank
    "",
    " ",
    "\t",
    # numbers a careless int()/float() or a 64-bit column chokes on
    "0",
    "-0",
    "-1",
    "+1",
    " 1",
    "01",
    "1_000",
    "0x1f",
    "1.5",
    "1e24",
    "-1e24",
    "1e309",
    "NaN",
    "Infinity",
    "-inf",
    str(10**30),
    str(-(10**30)),
    str(2**63 - 1),
    str(2**63),
    str(2**64),
    str(-(2**63) - 1),
    # digits that are not 0-9: str.isdigit() says yes, int() accepts some of them
    "²",
    "¹²³",
    "١٢",
    "٣",
    "௧",
    "½",
    "Ⅻ",
    "𝟙𝟚",
    "１２",
    # control characters, lone surrogates, invisible and direction marks
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "\x7f",
    "\r\nX-Injected: 1",
    "\n",
    "\u2028",
    "\u202e",
    "\ufeff",
    "\ufffd",
    "\ud800",
    "\udfff",
    "a\udc80b",
    # dates at and past the ends of the calendar, and almost-dates
    "0001-01-01",
    "0001-01-02",
    "9999-12-31",
    "9999-12-30",
    "0000-00-00",
    "10000-01-01",
    "2026-02-30",
    "2026-13-01",
    "-2026-01-01",
    "2026-1-1",
    "20260101",
    "2026-W01-1",
    "٢٠٢٦-٠١-٠١",
    "2026-01-01T25:00:00",
    "2026-01-01\x00",
    "2026-01-01 junk",
    # injection-shaped text
    "' OR 1=1 --",
    '"; DROP TABLE users; --',
    "%s%s%n",
    "{0}",
    "${jndi:ldap://x}",
    "../../../etc/passwd",
    "<script>alert(1)</script>",
    "null",
    "true",
    "[]",
    "{}",
    # already-encoded text, encoded again on the way out
    "%00",
    "%ED%A0%80",
    "%C0%80",
    "%FF",
    "%",
    "a=b&c=d",
    "#",
    "?",
    ";",
)

# Code points from every region that matters: ASCII and C0 controls, latin-1, the BMP,
# surrogates (U+D800-U+DFFF, never valid alone) and astral planes.
_ANY_CHAR = st.one_of(
    st.characters(min_codepoint=0x00, max_codepoint=0x7F),
    st.characters(min_codepoint=0x80, max_codepoint=0xFF),
    st.characters(min_codepoint=0x100, max_codepoint=0xFFFF, exclude_categories=()),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=()),
    st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF),
)


def long_strings() -> st.SearchStrategy[str]:
    """Over-long values: past column lengths, past int()'s 4300-digit limit; short enough
    that a body holding one still fits a 16 KiB form limit. (Kept out of TRICKY_STRINGS so
    that no strategy's repr is kilobytes long.)"""
    repeated = st.tuples(
        st.sampled_from(["x", "€", "a@", "\x00", "\ud800"]), st.sampled_from([101, 300, 1000])
    ).map(lambda unit_times: unit_times[0] * unit_times[1])
    return st.one_of(repeated, st.sampled_from([4301, 5000]).map(lambda n: "9" * n))


def hostile_text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Any text, lone surrogates and control characters included. (Built character by
    character: st.text() over this alphabet would draw from the union of the ranges, where
    surrogates are 0.2% of the code points, and almost never send one.)"""
    return st.lists(_ANY_CHAR, max_size=max_size).map("".join)


# One character that breaks something somewhere: NUL and controls (databases, headers), lone
# surrogates (UTF-8 encoders), CR/LF (headers), non-latin-1 (headers), other digits, BOM, RTL.
SPIKES = "\x00\x01\x1b\x7f\r\n\ud800\udbff\udc00\udfff€²١𝟙\ufeff\u202e\u2028\ufffd"


def spiked(plain: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[str]:
    """A plausible value with one SPIKES character put in it: gets past "is it empty / is it
    text" checks and carries the character to where it does harm."""
    plain = plain or st.sampled_from(
        ["", "a", "abc", "12", "a@example.com", "long-enough-password", "2026-01-01", "anthropic"]
    )
    return st.tuples(plain, st.sampled_from(SPIKES), plain).map("".join)


# str.isdigit() is true for all of these; int() reads the decimal ones (Arabic-Indic,
# Devanagari, fullwidth, mathematical…) and raises on the rest (superscripts, circled…).
NON_DECIMAL_DIGITS = "²³¹⁰⁴⁵⁹₀₁₂①⓪❶➀"
OTHER_DECIMAL_DIGITS = "١٢٣٠۴५௧๑１２𝟙𝟡"


def other_digits() -> st.SearchStrategy[str]:
    """Digit strings with a digit that is not 0-9, mixed with 0-9: what a check with
    str.isdigit() lets through to int(). Half of them int() cannot read."""
    ascii_digits = st.text(alphabet="0123456789", max_size=3)
    unreadable = st.tuples(ascii_digits, st.sampled_from(NON_DECIMAL_DIGITS), ascii_digits).map(
        "".join
    )
    decimal = st.one_of(st.sampled_from(OTHER_DECIMAL_DIGITS), st.characters(categories=["Nd"]))
    readable = st.tuples(ascii_digits, decimal, ascii_digits).map("".join)
    return st.one_of(unreadable, readable)


def numeric_strings() -> st.SearchStrategy[str]:
    """Numbers as text: huge and negative integers, floats (nan/inf too), other digits."""
    return st.one_of(
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
        st.integers(min_value=-(2**64), max_value=2**64).map(str),
        st.integers(min_value=-2000, max_value=2000).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.integers(min_value=0, max_value=10**6).map(lambda n: f"{n:e}"),
        other_digits(),
        st.text(alphabet="0123456789²³¹١٢٣٤٥٦٧٨٩٠௧𝟙１+-._e ", min_size=1, max_size=12),
    )


# The first and last weeks of the calendar: one day more or less, or a time zone, overflows.
CALENDAR_EDGES = st.one_of(
    st.sampled_from([date.min, date.min.replace(day=2), date.max.replace(day=30), date.max]),
    st.dates(max_value=date(1, 2, 15)),
    st.dates(min_value=date(9999, 11, 15)),
)


def date_strings() -> st.SearchStrategy[str]:
    """ISO dates over the whole calendar, leaning hard to its ends, and near-dates (day 30 of
    February, month 13, year 10000, a time attached, other digits)."""
    return st.one_of(
        st.dates().map(date.isoformat),
        CALENDAR_EDGES.map(date.isoformat),
        CALENDAR_EDGES.map(date.isoformat),
        st.tuples(
            st.integers(min_value=-1, max_value=12000),
            st.integers(min_value=-1, max_value=14),
            st.integers(min_value=-1, max_value=33),
        ).map(lambda ymd: f"{ymd[0]:04d}-{ymd[1]:02d}-{ymd[2]:02d}"),
        st.dates().map(lambda d: d.isoformat() + "T00:00:00"),
    )


def weighted(*choices: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """One of the strategies, picked with the given weights (st.one_of picks evenly)."""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(pool).flatmap(lambda strategy: strategy)


def hostile_strings(max_size: int = 40) -> st.SearchStrategy[str]:
    """Any value a parameter or field might be sent: the known troublemakers, plausible values
    with one bad character in them (the most likely to get deep), generated text (at most
    `max_size` characters), over-long values, numbers and dates, and pairs of them joined."""
    single = weighted(
        (2, st.sampled_from(TRICKY_STRINGS)),
        (4, spiked()),
        (1, long_strings()),
        (2, hostile_text(max_size)),
        (1, numeric_strings()),
        (1, date_strings()),
    )
    return weighted((4, single), (1, st.tuples(single, single).map("".join)))


# --- wire encodings -----------------------------------------------------------------------


def to_wire(text: str) -> bytes:
    """UTF-8 as an attacker writes it: a lone surrogate becomes its (invalid) 3-byte form."""
    return text.encode("utf-8", "surrogatepass")


def percent_encode(text: str | bytes) -> str:
    raw = text if isinstance(text, bytes) else to_wire(text)
    return quote_from_bytes(raw, safe="")


@st.composite
def _pairs(
    draw, names: list[str] | tuple[str, ...], values: st.SearchStrategy | None
) -> list[tuple[str, object]]:
    """(name, value) pairs: each of `names` three times in four, a junk name or two, and now
    and then a name sent twice."""
    values = values if values is not None else hostile_strings()
    pairs = [(name, draw(values)) for name in names if draw(st.integers(0, 3))]
    pairs += draw(st.lists(st.tuples(hostile_strings(12), values), max_size=2))
    if pairs and not draw(st.integers(0, 4)):
        pairs.append((draw(st.sampled_from(pairs))[0], draw(values)))
    return draw(st.permutations(pairs)) if draw(st.booleans()) else pairs


def _urlencoded(pairs: list[tuple[str, str]], raw_junk: bytes, style: int) -> bytes:
    parts = []
    for name, value in pairs:
        if style == 1:  # a name with no "=" at all
            parts.append(percent_encode(name))
        else:
            parts.append(f"{percent_encode(name)}={percent_encode(value)}")
    joined = ("&" if style != 2 else ";").join(parts).encode()
    return joined + raw_junk


@st.composite
def query_strings(
    draw, names: list[str] | tuple[str, ...], values: st.SearchStrategy[str] | None = None
) -> str:
    """A raw, ASCII query string (no leading "?") over `names` and junk names; repeated names,
    names without "=" and stray "%"/"&" included. `values` replaces hostile_strings()."""
    pairs = draw(_pairs(names, values))
    style = draw(st.sampled_from([0, 0, 0, 1, 2]))
    junk = draw(st.sampled_from([b""] * 8 + [b"&", b"&&=", b"%", b"%G0", b"=%"]))
    return _urlencoded(pairs, junk, style).decode("ascii")


@st.composite
def form_bodies(
    draw, names: list[str] | tuple[str, ...], values: st.SearchStrategy[str] | None = None
) -> bytes:
    """An application/x-www-form-urlencoded body; sometimes with raw invalid UTF-8 appended."""
    pairs = draw(_pairs(names, values))
    style = draw(st.sampled_from([0, 0, 0, 1, 2]))
    junk = draw(st.sampled_from([b""] * 8 + [b"&x=\xed\xa0\x80", b"&x=\xff\xfe", b"&x=\x00", b"%"]))
    return _urlencoded(pairs, junk, style)


def json_values(max_leaves: int = 8) -> st.SearchStrategy:
    """JSON values whose leaves are hostile: strings as above, numbers past every limit."""
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=True, allow_infinity=True),
        hostile_strings(),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(hostile_strings(8), inner, max_size=3)
        ),
        max_leaves=max_leaves,
    )


def _dump(value) -> bytes:
    # ensure_ascii writes lone surrogates as \ud800 escapes; NaN/Infinity as JSON extensions.
    return json.dumps(value, ensure_ascii=True, allow_nan=True).encode()


@st.composite
def json_bodies(
    draw, names: list[str] | tuple[str, ...], values: st.SearchStrategy[str] | None = None
) -> bytes:
    """A JSON body: mostly an object over `names` (string, number, null, list… values), else
    not an object, not JSON at all, or nested deeper than any parser recurses."""
    kind = draw(st.sampled_from(["object"] * 6 + ["other", "broken", "deep", "deep"]))
    if kind == "object":
        strings = values if values is not None else hostile_strings()
        mostly_strings = st.integers(0, 3).flatmap(lambda i: strings if i else json_values())
        return _dump(dict(draw(_pairs(names, mostly_strings))))
    if kind == "other":
        return _dump(draw(json_values()))
    if kind == "deep":
        depth = draw(st.sampled_from([100, 1000, 2500, 8000]))
        opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
        return opener * depth + b"1" + closer * depth
    return draw(
        st.sampled_from(
            [
                b"{",
                b'{"email": }',
                b"{'email': 'a'}",
                b'{"email": "a"',
                b"\xff\xfe{\x00}\x00",
                b'{"email": "\xed\xa0\x80"}',
                b'{"email": "\\ud800"}',
                b'{"email": "\\u0000"}',
                b"\x00",
                b"1" * 5000,
                b'{"a": 1' + b"0" * 5000 + b"}",
                b"NaN",
            ]
        )
    )


CONTENT_TYPES: tuple[str, ...] = (
    "application/x-www-form-urlencoded",
    "application/json",
    "application/json; charset=utf-16",
    "application/jsonx",
    "multipart/form-data; boundary=xyz",
    "multipart/form-data",
    "text/plain",
    "text/html; charset=latin-1",
    "application/xml",
    "application/octet-stream",
    "*/*",
    "",
    ";;;",
)


def content_types() -> st.SearchStrategy[bytes]:
    """Content-Type header values (latin-1 bytes, like every header value here)."""
    return st.one_of(st.sampled_from(CONTENT_TYPES).map(str.encode), header_values())


@st.composite
def request_bodies(
    draw, names: list[str] | tuple[str, ...], values: st.SearchStrategy[str] | None = None
) -> tuple[bytes, bytes]:
    """(Content-Type header value, body): form or JSON bodies over `names`, sent under their
    own content type or a wrong one, or raw bytes."""
    kind = draw(st.sampled_from(["form", "form", "json", "json", "json", "raw"]))
    if kind == "form":
        body = draw(form_bodies(names, values))
    elif kind == "json":
        body = draw(json_bodies(names, values))
    else:
        body = draw(st.binary(max_size=200))
    right = b"application/json" if kind == "json" else b"application/x-www-form-urlencoded"
    ctype = draw(weighted((3, st.just(right)), (1, content_types())))
    return ctype, body


# --- headers ------------------------------------------------------------------------------

# What HTTP/1.1 lets a header value be (RFC 9110 field-value): visible ASCII, space, tab and
# obs-text (0x80-0xFF); a client library refuses CR, LF and NUL before sending.
_HEADER_CHAR = st.one_of(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E),
    st.characters(min_codepoint=0x80, max_codepoint=0xFF),
    st.sampled_from([" ", "\t"]),
)
_TRICKY_HEADER_VALUES = tuple(
    v for v in TRICKY_STRINGS if all(0x20 <= ord(c) <= 0xFF and c != "\x7f" for c in v)
)


@st.composite
def header_values(draw, max_size: int = 60) -> bytes:
    """A header value as latin-1 bytes, trimmed as it travels (no leading/trailing space)."""
    text = draw(
        st.one_of(
            st.sampled_from(_TRICKY_HEADER_VALUES),
            st.text(alphabet=_HEADER_CHAR, max_size=max_size),
            numeric_strings().filter(lambda v: all(ord(c) <= 0xFF for c in v)),
        )
    )
    return text.strip(" \t").encode("latin-1")


def header_sets(
    names: list[str] | tuple[str, ...], extra: dict[str, st.SearchStrategy[bytes]] | None = None
) -> st.SearchStrategy[dict[str, bytes]]:
    """Some of `names` (header names, e.g. "accept", "cookie"), each with a hostile value;
    `extra` gives a strategy of its own to some names (e.g. a Cookie header's shape)."""
    strategies = {name: header_values() for name in names}
    strategies.update(extra or {})
    return st.fixed_dictionaries({}, optional=strategies)


@st.composite
def cookie_headers(draw, names: list[str] | tuple[str, ...]) -> bytes:
    """A Cookie header: each of `names` three times in four, junk cookies, hostile values
    (half of them shaped like a signed value, `payload.signature`), broken syntax."""
    chosen = [name for name in names if draw(st.integers(0, 3))]
    chosen += draw(st.lists(st.sampled_from(["", "x", "=", "a b"]), max_size=2))
    parts = []
    for name in draw(st.permutations(chosen)):
        value = draw(header_values(max_size=80)).replace(b";", b"")
        if draw(st.booleans()):
            signature = draw(header_values(max_size=50)).replace(b";", b"").replace(b".", b"")
            value = value.replace(b".", b"") + b"." + signature
        parts.append(name.encode() + b"=" + value)
    separator = draw(st.sampled_from([b"; ", b";", b", ", b" ;; "]))
    return separator.join(parts).strip(b" \t")


def fuzz(max_examples: int):
    """Settings for fuzzing a real server: derandomized (CI sends the same requests every
    time), no example database, no deadline (every example is a network round trip)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,  # one signed-in client serves every example
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )
