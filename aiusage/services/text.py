"""Text a person typed, checked before it is stored: what the database cannot encode (a lone
surrogate), what no name contains (NUL and other control characters), and what is too long."""

from __future__ import annotations

import re

from aiusage.services.errors import ServiceError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # tabs and newlines aside
_LINE_BREAKS = re.compile(r"[\t\r\n]")


def checked_text(value: object, *, code: str, max_chars: int, multiline: bool = False) -> str:
    """`value` stripped, or ServiceError(code) if it is not storable text of at most
    `max_chars` characters (line breaks only where `multiline`)."""
    text = (value if isinstance(value, str) else "").strip()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ServiceError(code, "The text contains characters that are not allowed.") from None
    if _CONTROL.search(text) or (not multiline and _LINE_BREAKS.search(text)):
        raise ServiceError(code, "The text contains characters that are not allowed.")
    if len(text) > max_chars:
        raise ServiceError(code, f"Use at most {max_chars} characters.")
    return text
