"""The user's data rights over plain HTTP (cookie-authenticated): download everything, close
the account, confirm a change of email, sign out of every browser."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from aiusage.db import session_scope
from aiusage.models import utcnow
from aiusage.services import export, profile, retention, sessions
from aiusage.services.errors import ServiceError
from aiusage.web.auth_routes import CSRF, clear_session_cookie
from aiusage.web.http import error_response, ok_response, read_fields, same_origin, wants_json

SIGNED_OUT = ServiceError("signed_out", "Sign in again.", status=401)
SETTINGS = "/dashboard/settings"


def _signed_out(request: Request) -> Response:
    if wants_json(request) or "text/html" not in request.headers.get("accept", ""):
        return JSONResponse(
            {"error": {"code": SIGNED_OUT.code, "message": SIGNED_OUT.message}}, status_code=401
        )
    return RedirectResponse("/login?error=signed_out", status_code=303)


async def export_data(request: Request) -> Response:
    """GET: the signed-in user's data as a zip (JSON + CSV)."""
    created = utcnow()
    async with session_scope() as db:
        user = await sessions.user_for_token(db, request.cookies.get(sessions.COOKIE_NAME))
        if user is None:
            return _signed_out(request)
        data = await export.export_zip(db, user.id, created)
    return Response(
        data,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename(created)}"',
            "Cache-Control": "no-store",
        },
    )


async def delete_account(request: Request) -> Response:
    """POST confirm_email=<the account's address>: closes the account at once."""
    try:
        if not same_origin(request):
            raise CSRF
        fields = await read_fields(request, "confirm_email")
        async with session_scope() as db:
            user = await sessions.user_for_token(db, request.cookies.get(sessions.COOKIE_NAME))
            if user is None:
                raise SIGNED_OUT
            purge_after = await retention.close_account(db, user, fields["confirm_email"])
    except ServiceError as error:
        back_to = "/login" if error.code == "signed_out" else SETTINGS
        return error_response(request, error, back_to)
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
        user = await sessions.user_for_token(db, request.cookies.get(sessions.COOKIE_NAME))
        if user is not None:
            await sessions.end_all_sessions(db, user.id)
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
            signed_in = await sessions.user_for_token(db, request.cookies.get(sessions.COOKIE_NAME))
    except ServiceError as error:
        return error_response(request, error, "/login")
    return ok_response(request, SETTINGS if signed_in else "/login", notice="email_changed")


routes = [
    Route("/api/account/export", export_data, methods=["GET"]),
    Route("/api/account/delete", delete_account, methods=["POST"]),
    Route("/api/account/sign-out-everywhere", sign_out_everywhere, methods=["POST"]),
    Route("/api/account/confirm-email", confirm_email, methods=["GET"]),
]
