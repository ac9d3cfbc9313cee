"""The pending second step of a sign-in (two-factor): its cookies and the answer that sends
the browser to the code page. Kept apart from the routes so that the log-in routes (password
and Google) can use it without importing each other."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from aiusage.services import redirects, twofactor
from aiusage.web.http import clear_private_cookie, ok_response, set_private_cookie

PENDING_COOKIE = "bai_2fa"
PENDING_COOKIE_PATH = "/api/auth/two-factor"
# The page asked for before the sign-in, kept for the code step (the code page's form does
# not carry it); same path and lifetime as the pending step, checked again when read.
NEXT_COOKIE = "bai_2fa_next"
CODE_PAGE = "/login/two-factor"


def set_pending_cookie(response: Response, token: str) -> None:
    max_age = int(twofactor.CHALLENGE_TTL.total_seconds())
    set_private_cookie(response, PENDING_COOKIE, token, max_age=max_age, path=PENDING_COOKIE_PATH)


def clear_pending_cookie(response: Response) -> None:
    clear_private_cookie(response, PENDING_COOKIE, path=PENDING_COOKIE_PATH)


def pending_next(request: Request) -> str | None:
    """The checked page to go to once the code is right (None: the dashboard)."""
    return redirects.from_cookie(request.cookies.get(NEXT_COOKIE))


def clear_next_cookie(request: Request, response: Response) -> None:
    if NEXT_COOKIE in request.cookies:
        clear_private_cookie(response, NEXT_COOKIE, path=PENDING_COOKIE_PATH)


def code_page_response(request: Request, token: str, next_path: str | None = None) -> Response:
    """A right password (or Google) for an account with two-factor sign-in: no session yet,
    the browser goes to the code page holding the pending step's cookie (and the page it
    asked for, if any)."""
    response = ok_response(request, CODE_PAGE, {"two_factor": True})
    set_pending_cookie(response, token)
    if value := redirects.to_cookie(next_path):
        max_age = int(twofactor.CHALLENGE_TTL.total_seconds())
        set_private_cookie(response, NEXT_COOKIE, value, max_age=max_age, path=PENDING_COOKIE_PATH)
    else:  # none from an earlier, abandoned sign-in may linger (its path hides it from here)
        clear_private_cookie(response, NEXT_COOKIE, path=PENDING_COOKIE_PATH)
    response.headers["cache-control"] = "no-store"
    return response
