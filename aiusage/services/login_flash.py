"""The address typed into a refused log-in, given back to the log-in form.

A refused log-in answers with a redirect to /login (a plain form post), so the form would
come back empty. The address rides along in a short-lived HttpOnly cookie instead of the
URL (where it would end in the history, logs and Referer headers); the page's state reads it
server-side from the websocket's cookie header. Only the address: never the password."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from urllib.parse import quote, unquote

COOKIE_NAME = "bai_login_email"
TTL_SECONDS = 300  # long enough to retype a password, short enough to be forgotten
MAX_CHARS = 254  # the longest email address there is


def _clean(address: str) -> str:
    address = address.strip()
    if not address or len(address) > MAX_CHARS:
        return ""
    if any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in address):
        return ""
    return address


def cookie_value(address: str) -> str:
    """The cookie value for a typed address ("" when there is nothing worth keeping)."""
    address = _clean(address)
    return quote(address, safe="") if address else ""


def from_cookie_header(cookie_header: str | None) -> str:
    """The kept address from a raw Cookie header, or ""."""
    if not cookie_header:
        return ""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return ""
    morsel = jar.get(COOKIE_NAME)
    if morsel is None or len(morsel.value) > 3 * MAX_CHARS:
        return ""
    return _clean(unquote(morsel.value))
