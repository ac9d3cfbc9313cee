"""The console's pages (/admin…) are served only to operators.

The pages are a static bundle; what they show arrives through console events, which
`state/console.py`'s middleware checks too. This guard answers the page request itself: a
signed-out visitor is sent to log in (and back), a signed-in account without a console role
gets 403, and an operator without two-factor sign-in gets 403 saying how to open it."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from starlette.types import ASGIApp, Receive, Scope, Send

from aiusage.db import session_scope
from aiusage.services import roles, sessions

CONSOLE_PREFIX = "/admin"

_TEXTS = {
    roles.NOT_OPERATOR: (
        "403 — Not for this account",
        "The operator's console is open to accounts with the admin or support role.",
    ),
    roles.NEEDS_TWO_FACTOR: (
        "403 — Turn on two-factor sign-in first",
        "Your account has a console role; the console opens once two-factor sign-in is on "
        '(<a href="/dashboard/settings">Settings</a>).',
    ),
}


def is_console_path(path: str) -> bool:
    return path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")


def _page(reason: str) -> bytes:
    title, body = _TEXTS[reason]
    return (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title>"
        "<body style='font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;"
        "padding:0 1em;line-height:1.5'>"
        f"<h1 style='font-size:1.4em'>{escape(title)}</h1><p>{body}</p>"
        "<p><a href='/dashboard'>Back to the dashboard</a></p></body></html>"
    ).encode()


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes):
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ConsoleGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_console_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        cookie = next((v for k, v in scope["headers"] if k == b"cookie"), b"").decode("latin-1")
        async with session_scope() as db:
            user = await sessions.user_for_token(db, sessions.token_from_cookie_header(cookie))
            operator = await roles.console_operator(db, user) if user else None
        if user is None:
            # Signed out: log in, then come back to the console page asked for.
            target = "/login?next=" + quote(scope["path"], safe="/")
            await _answer(send, 303, [(b"location", target.encode())], b"")
            return
        if isinstance(operator, str):
            headers = [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"cache-control", b"no-store"),
            ]
            await _answer(send, 403, headers, _page(operator))
            return
        await self.app(scope, receive, send)
