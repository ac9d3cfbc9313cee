"""Auth over plain HTTP: Reflex events cannot set HttpOnly cookies, so log-in and log-out are
routes that set/clear `bai_session` and then send the browser to a full page load."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aiusage.config import get_settings
from aiusage.db import session_scope
from aiusage.i18n import negotiate
from aiusage.services import accounts, login_flash, reauth, redirects, sessions, twofactor
from aiusage.services.errors import RateLimited, ServiceError
from aiusage.services.throttle import login_throttle, mail_limiter
from aiusage.web.http import (
    CSRF,
    clear_private_cookie,
    client_ip,
    error_response,
    ok_response,
    same_origin,
    session_user,
    set_private_cookie,
    signed_in_user,
    site_form,
    user_error_response,
)
from aiusage.web.second_step import code_page_response

log = logging.getLogger("aiusage.web")


def set_session_cookie(response: Response, token: str) -> None:
    max_age = get_settings().session_ttl_days * 86400
    set_private_cookie(response, sessions.COOKIE_NAME, token, max_age=max_age, path="/")


def clear_session_cookie(response: Response) -> None:
    clear_private_cookie(response, sessions.COOKIE_NAME, path="/")


async def _check_login_rate(ip: str, address: str) -> None:
    # Growing delays per (address, IP) and per IP, never a lock-out (services/throttle.py).
    wait = await login_throttle().retry_after(address, ip)
    if wait:
        raise RateLimited("Too many log-in attempts. Try again later.", wait)


async def login(request: Request) -> Response:
    fields: dict[str, str] = {}
    try:
        fields = await site_form(request, "email", "password", "next")
        address = fields["email"].strip().lower()
        ip = client_ip(request)
        await _check_login_rate(ip, address)
        async with session_scope() as db:
            try:
                user = await accounts.authenticate(db, fields["email"], fields["password"])
            except ServiceError as error:
                if error.code == "invalid_credentials":
                    await login_throttle().failed(address, ip)
                raise
            # Two-factor accounts get no session yet: a pending step, then the code page.
            pending = await twofactor.start_challenge(db, user)
            token = pending or await sessions.create_session(
                db, user, user_agent=request.headers.get("user-agent", ""), ip=client_ip(request)
            )
        await login_throttle().succeeded(address, ip)
    except ServiceError as error:
        return _refused_login(request, error, fields)
    next_path = redirects.safe_next(fields["next"])
    if pending:
        return code_page_response(request, pending, next_path)
    response = ok_response(request, redirects.after_sign_in(next_path))
    set_session_cookie(response, token)
    forget_typed_email(request, response)
    return response


def forget_typed_email(request: Request, response: Response) -> None:
    """Signed in: the address kept from a refused log-in has served its purpose."""
    if login_flash.COOKIE_NAME in request.cookies:
        clear_private_cookie(response, login_flash.COOKIE_NAME, path="/")


def _refused_login(request: Request, error: ServiceError, fields: dict[str, str]) -> Response:
    """Back to the log-in form with the error, still knowing the page asked for, and with
    the typed address kept in a short-lived cookie (services/login_flash.py)."""
    keep = {"next": redirects.safe_next(fields.get("next")) or ""}
    response = error_response(request, error, redirects.LOGIN, keep=keep)
    if response.status_code != 303:  # a JSON caller keeps its own fields
        return response
    if kept := login_flash.cookie_value(fields.get("email", "")):
        set_private_cookie(
            response, login_flash.COOKIE_NAME, kept, max_age=login_flash.TTL_SECONDS, path="/"
        )
    return response


async def logout(request: Request) -> Response:
    if not same_origin(request):
        return error_response(request, CSRF, "/dashboard")
    token = request.cookies.get(sessions.COOKIE_NAME)
    async with session_scope() as db:
        await sessions.end_session(db, token)
    response = ok_response(request, "/", notice="signed_out")
    clear_session_cookie(response)
    return response


async def signup(request: Request) -> Response:
    try:
        fields = await site_form(request, "email", "password", "lang")
        lang = fields["lang"] or negotiate(request.headers.get("accept-language"))
        ip = client_ip(request)
        async with session_scope() as db:
            # The same answer whether the address is new or taken (its owner gets a mail).
            await accounts.sign_up(
                db,
                fields["email"],
                fields["password"],
                lang,
                may_mail=lambda: mail_limiter().allow(fields["email"], ip),
            )
    except ServiceError as error:
        if error.code != "email_taken":  # taken by a concurrent sign-up: the same answer
            return error_response(request, error, "/signup")
    return ok_response(request, "/login", notice="check_email")


async def verify(request: Request) -> Response:
    try:
        async with session_scope() as db:
            await accounts.verify_email(db, request.query_params.get("token", ""))
    except ServiceError as error:
        return error_response(request, error, "/login")
    return ok_response(request, "/login", notice="verified")


async def resend_verification(request: Request) -> Response:
    try:
        fields = await site_form(request, "email")
    except ServiceError as error:
        return error_response(request, error, "/login")
    response = ok_response(request, "/login", notice="check_email")
    return _mail_after(request, response, accounts.resend_verification, fields["email"])


def _mail_after(request: Request, response: Response, job, address: str) -> Response:
    """The mail (if any, and if the mail limit for the address and the client's IP allows)
    is prepared after the answer is sent, so neither the answer nor its timing says whether
    the address has an account."""
    if mail_limiter().allow(address, client_ip(request)):

        async def run() -> None:
            try:
                async with session_scope() as db:
                    await job(db, address)
            except Exception:  # the answer is gone: log, never raise into the server
                log.exception("could not prepare an account mail")

        response.background = BackgroundTask(run)
    return response


async def forgot_password(request: Request) -> Response:
    try:
        fields = await site_form(request, "email")
        accounts.normalize_email(fields["email"])  # a typo deserves an error; unknown does not
    except ServiceError as error:
        return error_response(request, error, "/forgot-password")
    response = ok_response(request, "/login", notice="reset_sent")
    return _mail_after(request, response, accounts.request_password_reset, fields["email"])


async def reset_password(request: Request) -> Response:
    fields: dict[str, str] = {}
    try:
        fields = await site_form(request, "token", "password")
        async with session_scope() as db:
            await accounts.reset_password(db, fields["token"], fields["password"])
    except ServiceError as error:
        if error.code == "token_invalid" or not fields.get("token"):
            return error_response(request, error, "/forgot-password")
        response = error_response(request, error, "/reset-password")
        if response.status_code == 303:  # keep the token so the user can try again
            # Encoded: a raw token could carry CR/LF (header injection) or non-latin-1 text.
            response.headers["location"] += "&" + urlencode({"token": fields["token"]})
        return response
    response = ok_response(request, "/login", notice="password_reset")
    clear_session_cookie(response)
    return response


async def change_password(request: Request) -> Response:
    try:
        fields = await site_form(request, "current_password", "new_password")
        async with session_scope() as db:
            user = await signed_in_user(db, request)
            async with reauth.counted(user, client_ip(request)):  # wrong ones count as at log-in
                await accounts.change_password(
                    db, user, fields["current_password"], fields["new_password"]
                )
            # Every other session ended with the change; keep this browser signed in.
            new_token = await sessions.create_session(
                db, user, user_agent=request.headers.get("user-agent", ""), ip=client_ip(request)
            )
    except ServiceError as error:
        return user_error_response(request, error, "/dashboard/settings")
    response = ok_response(request, "/dashboard/settings", notice="password_changed")
    set_session_cookie(response, new_token)
    return response


routes = [
    Route("/api/auth/login", login, methods=["POST"]),
    Route("/api/auth/logout", logout, methods=["POST"]),
    Route("/api/auth/signup", signup, methods=["POST"]),
    Route("/api/auth/verify", verify, methods=["GET"]),
    Route("/api/auth/resend-verification", resend_verification, methods=["POST"]),
    Route("/api/auth/forgot-password", forgot_password, methods=["POST"]),
    Route("/api/auth/reset-password", reset_password, methods=["POST"]),
    Route("/api/auth/change-password", change_password, methods=["POST"]),
]


async def me(request: Request) -> Response:
    """Who the session cookie belongs to (401 when signed out): for scripts and tests."""
    async with session_scope() as db:
        user = await session_user(db, request)
    if user is None:
        return JSONResponse(
            {"error": {"code": "signed_out", "message": "Not signed in."}}, status_code=401
        )
    return JSONResponse({"id": user.id, "email": user.email})


routes.append(Route("/api/auth/me", me, methods=["GET"]))
