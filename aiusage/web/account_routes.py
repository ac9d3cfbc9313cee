"""The user's data rights over plain HTTP (cookie-authenticated): download everything, close
the account, confirm a change of email, sign out of every browser.

The export is streamed as it is made (services/export.py) and limited per user: one at a
time and EXPORTS_PER_HOUR an hour, else 429 with Retry-After. Like the other limits these are
kept in this process (see services/ratelimit.py)."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from aiusage.db import session_scope
from aiusage.models import utcnow
from aiusage.models.base import id_of
from aiusage.services import export, profile, retention, sessions
from aiusage.services.errors import ServiceError
from aiusage.services.ratelimit import SlidingWindow
from aiusage.web.auth_routes import clear_session_cookie
from aiusage.web.http import (
    CSRF,
    SIGNED_OUT,
    error_response,
    ok_response,
    same_origin,
    session_user,
    signed_in_user,
    site_form,
    user_error_response,
    wants_json,
)

SETTINGS = "/dashboard/settings"


def _signed_out(request: Request) -> Response:
    if wants_json(request) or "text/html" not in request.headers.get("accept", ""):
        return JSONResponse(
            {"error": {"code": SIGNED_OUT, "message": "Sign in again."}}, status_code=401
        )
    return RedirectResponse("/login?error=signed_out", status_code=303)


EXPORTS_PER_HOUR = 4
EXPORT_BUSY_RETRY_AFTER = 30  # seconds: an export of a large account takes about that long
# A slot still taken after this long is taken to be lost (a response that never ran).
EXPORT_SLOT_SECONDS = 3600
EXPORT_BUSY = ServiceError(
    "export_in_progress",
    "Your data export is already being prepared. Try again once it has downloaded.",
    status=429,
)
EXPORT_LIMITED = ServiceError(
    "rate_limited", "Too many data exports in the last hour. Try again later.", status=429
)
_export_window = SlidingWindow(EXPORTS_PER_HOUR, 3600)
_exports_running: dict[int, float] = {}  # user id -> when its export started


def _too_many(error: ServiceError, retry_after: int) -> Response:
    return JSONResponse(
        {"error": {"code": error.code, "message": error.message}},
        status_code=429,
        headers={"Retry-After": str(retry_after)},
    )


class _ExportResponse(StreamingResponse):
    """The zip as it is made. Takes the user's export slot and frees it however the response
    ends (done, failed, or the browser went away)."""

    def __init__(self, user_id: int, chunks: AsyncGenerator[bytes, None], **kwargs) -> None:
        super().__init__(chunks, **kwargs)
        self._user_id = user_id
        self._chunks = chunks
        self._started = _exports_running[user_id] = time.monotonic()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if _exports_running.get(self._user_id) == self._started:
                del _exports_running[self._user_id]
            await self._chunks.aclose()


async def export_data(request: Request) -> Response:
    """GET: the signed-in user's data as a zip (JSON + CSV), streamed as it is made."""
    created = utcnow()
    async with session_scope() as db:
        user = await session_user(db, request)
        if user is None:
            return _signed_out(request)
        user_id = id_of(user)
    started = _exports_running.get(user_id)
    if started is not None and time.monotonic() - started < EXPORT_SLOT_SECONDS:
        return _too_many(EXPORT_BUSY, EXPORT_BUSY_RETRY_AFTER)
    wait = _export_window.try_hit(str(user_id))
    if wait:
        return _too_many(EXPORT_LIMITED, wait)
    return _ExportResponse(
        user_id,
        export.stream_zip(user_id, created),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename(created)}"',
            "Cache-Control": "no-store",
        },
    )


async def delete_account(request: Request) -> Response:
    """POST confirm_email=<the account's address>&current_password=…: closes the account at
    once. The password is re-asked (a session cookie alone is not enough) unless the account
    has none (Google-only: the typed address, as before; services/reauth.py)."""
    from aiusage.services import reauth
    from aiusage.web.http import client_ip

    try:
        fields = await site_form(request, "confirm_email", "current_password")
        async with session_scope() as db:
            user = await signed_in_user(db, request)
            await reauth.confirm_password(user, fields["current_password"], client_ip(request))
            purge_after = await retention.close_account(db, user, fields["confirm_email"])
    except ServiceError as error:
        return user_error_response(request, error, SETTINGS)
    response = ok_response(
        request, "/", {"purge_after": purge_after.isoformat()}, notice="account_deleted"
    )
    clear_session_cookie(response)
    return response


async def sign_out_everywhere(request: Request) -> Response:
    """POST: ends every session of the account (this browser's included)."""
    if not same_origin(request):
        return error_response(request, CSRF, SETTINGS)
    async with session_scope() as db:
        user = await session_user(db, request)
        if user is not None:
            await sessions.end_all_sessions(db, id_of(user))
    response = ok_response(request, "/login", notice="signed_out_everywhere")
    clear_session_cookie(response)
    return response


async def confirm_email(request: Request) -> Response:
    """GET from the link mailed to the new address: switches the account's email."""
    token = request.query_params.get("token", "")
    address = request.query_params.get("email", "")
    try:
        async with session_scope() as db:
            await profile.confirm_email_change(db, token, address)
            signed_in = await session_user(db, request)
    except ServiceError as error:
        return error_response(request, error, "/login")
    return ok_response(request, SETTINGS if signed_in else "/login", notice="email_changed")


routes = [
    Route("/api/account/export", export_data, methods=["GET"]),
    Route("/api/account/delete", delete_account, methods=["POST"]),
    Route("/api/account/sign-out-everywhere", sign_out_everywhere, methods=["POST"]),
    Route("/api/account/confirm-email", confirm_email, methods=["GET"]),
]
