"""The pending second step of a sign-in (two-factor): its cookie and the answer that sends
the browser to the code page. Kept apart from the routes so that the log-in routes (password
and Google) can use it without importing each other."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from aiusage.services import twofactor
from aiusage.web.http import clear_private_cookie, ok_response, set_private_cookie

PENDING_COOKIE = "bai_2fa"
PENDING_COOKIE_PATH = "/api/auth/two-factor"
CODE_PAGE = "/login/two-factor"


def set_pending_cookie(response: Response, token: str) -> None:
    max_age = int(twofactor.CHALLENGE_TTL.total_seconds())
    set_private_cookie(response, PENDING_COOKIE, token, max_age=max_age, path=PENDING_COOKIE_PATH)


def clear_pending_cookie(response: Response) -> None:
    clear_private_cookie(response, PENDING_COOKIE, path=PENDING_COOKIE_PATH)


def code_page_response(request: Request, token: str) -> Response:
    """A right password (or Google) for an account with two-factor sign-in: no session yet,
    the browser goes to the code page holding the pending step's cookie."""
    response = ok_response(request, CODE_PAGE, {"two_factor": True})
    set_pending_cookie(response, token)
    response.headers["cache-control"] = "no-store"
    return response
