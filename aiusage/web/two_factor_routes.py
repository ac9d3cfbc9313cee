"""POST /api/auth/two-factor: the second step of a sign-in. The code (TOTP or backup) is
checked against the pending step named by the `bai_2fa` cookie; only a right code creates
the `bai_session` cookie, as a one-step log-in does, and goes to the page asked for before
the sign-in (kept in the `bai_2fa_next` cookie) or the dashboard."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aiusage.db import session_scope
from aiusage.services import redirects, sessions, twofactor
from aiusage.services.errors import ServiceError
from aiusage.web.auth_routes import forget_typed_email, set_session_cookie
from aiusage.web.http import client_ip, error_response, ok_response, site_form
from aiusage.web.second_step import (
    CODE_PAGE,
    PENDING_COOKIE,
    clear_next_cookie,
    clear_pending_cookie,
    pending_next,
)

# Errors after which this pending step is over: back to the password.
_START_AGAIN = {"two_factor_expired", "two_factor_too_many"}


async def second_step(request: Request) -> Response:
    try:
        fields = await site_form(request, "code")
        async with session_scope() as db:
            user = await twofactor.finish_challenge(
                db, request.cookies.get(PENDING_COOKIE), fields["code"]
            )
            token = await sessions.create_session(
                db, user, user_agent=request.headers.get("user-agent", ""), ip=client_ip(request)
            )
    except ServiceError as error:
        if error.code in _START_AGAIN:
            # The new try still goes to the page asked for.
            keep = {"next": pending_next(request) or ""}
            response = error_response(request, error, redirects.LOGIN, keep=keep)
            clear_pending_cookie(response)
            clear_next_cookie(request, response)
            return response
        return error_response(request, error, CODE_PAGE)
    response = ok_response(request, redirects.after_sign_in(pending_next(request)))
    set_session_cookie(response, token)
    clear_pending_cookie(response)
    clear_next_cookie(request, response)
    forget_typed_email(request, response)
    return response


routes = [Route("/api/auth/two-factor", second_step, methods=["POST"])]
