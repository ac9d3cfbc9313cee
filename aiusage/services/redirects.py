"""Where a sign-in sends the browser afterwards: the page that was asked for, if it is a path
of this site, else the dashboard.

The page travels as `/login?next=<path>` (set when a signed-out visit is sent to log in),
then as the log-in form's hidden field, a short-lived cookie across the two-factor step, or
the signed Google flow cookie. Every hop checks it again with `safe_next`: a value that could
leave the site — a scheme, `//host`, `/\\host` (browsers read a backslash as a slash), or
whitespace and control characters (browsers drop tabs and newlines, so `/\\t/host` would
become `//host`) — is refused. Only printable ASCII is accepted: a browser's own URL is
percent-encoded, so nothing else needs to pass."""

from __future__ import annotations

from urllib.parse import quote, unquote, urlencode, urlsplit

from aiusage import routes

DEFAULT = routes.OVERVIEW
LOGIN = "/login"
MAX_CHARS = 2000  # a path with a filter query fits; nothing longer is a page of ours


def safe_next(value: object) -> str | None:
    """`value` if it is a path of this site (with its query), else None."""
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_CHARS:
        return None
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if not all("!" <= char <= "~" for char in value):  # printable ASCII, no space
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def after_sign_in(value: object) -> str:
    """Where a successful sign-in goes: the asked-for page if safe, else the dashboard."""
    return safe_next(value) or DEFAULT


def login_path(asked_for: str) -> str:
    """The log-in page remembering the page a signed-out visitor asked for (the dashboard,
    or anything unsafe, is not worth remembering)."""
    target = safe_next(asked_for)
    if target is None or target.rstrip("/") == DEFAULT:
        return LOGIN
    return f"{LOGIN}?{urlencode({'next': target})}"


def to_cookie(path: str | None) -> str:
    """A checked path as a cookie value (percent-encoded: only characters a cookie allows)."""
    target = safe_next(path)
    return quote(target, safe="") if target else ""


def from_cookie(value: str | None) -> str | None:
    """A path read back from a cookie, checked again (the cookie came from the browser)."""
    if not value or len(value) > 3 * MAX_CHARS:
        return None
    return safe_next(unquote(value))
