"""Helpers for the cookie-authenticated routes: CSRF origin check, bounded form reading, the
session's user, answers as JSON for fetch() callers and as redirects for plain HTML forms.

The refusals are raised as new errors each time: a module-level exception raised again keeps
every traceback it has passed through (and the frames, requests included, they hold)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from aiusage.config import get_settings
from aiusage.models import User
from aiusage.services import sessions
from aiusage.services.client_ip import from_scope as client_ip_of_scope
from aiusage.services.errors import RateLimited, ServiceError

MAX_FORM_BYTES = 16 * 1024
_FORBIDDEN_CHARS = re.compile(r"[\x00\ud800-\udfff]")  # NUL, lone surrogates


class BadRequest(ServiceError):
    pass


# The answer to a cookie-authenticated POST from another site (for error_response; raised
# as a new error by `site_form`).
CSRF = ServiceError(
    "csrf", "This form was not sent from this site. Reload the page and try again.", status=403
)
SIGNED_OUT = "signed_out"


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    ctype = request.headers.get("content-type", "")
    return "application/json" in accept or ctype.startswith("application/json")


def same_origin(request: Request) -> bool:
    """CSRF defence for cookie-authenticated POSTs: the browser's Origin (or Referer) must be
    this site, either as configured or as the Host the request was sent to."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return False
    parts = urlsplit(source)
    origin = f"{parts.scheme}://{parts.netloc}"
    if origin == get_settings().site_origin:
        return True
    host = request.headers.get("host", "")
    return bool(host) and parts.netloc == host


async def read_fields(request: Request, *names: str) -> dict[str, str]:
    """Named string fields from a form or JSON body, refusing bodies over MAX_FORM_BYTES and
    fields no form sends: a JSON value that is not a string (null counts as empty), a NUL
    byte, or a lone surrogate (JSON's "\\ud800": no database or password hash can take it).
    A missing field is empty."""
    declared = request.headers.get("content-length")
    if declared and not (declared.isascii() and declared.isdigit()):  # "²".isdigit() is true
        raise BadRequest("bad_request", "The Content-Length header is not a number.")
    if declared and int(declared) > MAX_FORM_BYTES:
        raise ServiceError("too_large", "The form is too large.", status=413)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise ServiceError("too_large", "The form is too large.", status=413)
    values: dict[str, Any]
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            values = json.loads(body or b"{}")
        except (ValueError, RecursionError):  # RecursionError: [[[[…]]]] nested thousands deep
            raise BadRequest("bad_request", "The request body is not valid JSON.") from None
        if not isinstance(values, dict):
            raise BadRequest("bad_request", "The request body must be a JSON object.")
    else:
        try:
            parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise BadRequest("bad_request", "The form is not valid UTF-8.") from None
        values = {key: items[0] for key, items in parsed.items()}
    fields: dict[str, str] = {}
    for name in names:
        value = values.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise BadRequest("bad_request", f"The field {name!r} must be text.")
        if _FORBIDDEN_CHARS.search(value):
            raise BadRequest("bad_request", f"The field {name!r} contains a character not allowed.")
        fields[name] = value
    return fields


async def site_form(request: Request, *names: str) -> dict[str, str]:
    """A cookie-authenticated POST's fields (see read_fields), once the CSRF check has let it
    through: from another site, it is refused with `csrf` (403) before its body is read."""
    if not same_origin(request):
        raise ServiceError(CSRF.code, CSRF.message, status=CSRF.status)
    return await read_fields(request, *names)


async def session_user(db: AsyncSession, request: Request) -> User | None:
    """The account behind the request's session cookie (None: no cookie, a session ended or
    expired, an account closed or suspended)."""
    return await sessions.user_for_token(db, request.cookies.get(sessions.COOKIE_NAME))


async def signed_in_user(db: AsyncSession, request: Request) -> User:
    """The account behind the request's session cookie; refused with `signed_out` (401) when
    there is none (`user_error_response` sends such a form to log in)."""
    user = await session_user(db, request)
    if user is None:
        raise ServiceError(SIGNED_OUT, "Sign in again.", status=401)
    return user


def user_error_response(request: Request, error: ServiceError, page: str) -> Response:
    """error_response for a signed-in user's form: back to `page`, or to log in when the
    session turned out to be over."""
    return error_response(request, error, "/login" if error.code == SIGNED_OUT else page)


def client_ip(request: Request) -> str:
    """The client's address: the peer's, or X-Forwarded-For's when the peer is a trusted
    proxy (AIUSAGE_TRUSTED_PROXIES; see services/client_ip.py)."""
    return client_ip_of_scope(request.scope)


def redirect(path: str, **query: str) -> RedirectResponse:
    target = f"{path}?{urlencode(query)}" if query else path
    return RedirectResponse(target, status_code=303)


def error_response(
    request: Request,
    error: ServiceError,
    back_to: str,
    headers: dict[str, str] | None = None,
    keep: dict[str, str] | None = None,
) -> Response:
    """JSON for fetch() callers; for forms a redirect to `back_to?error=<code>`, plus the
    `keep` query values the page needs again (e.g. where a sign-in goes afterwards)."""
    if isinstance(error, RateLimited):
        headers = {"Retry-After": str(error.retry_after), **(headers or {})}
    if wants_json(request):
        return JSONResponse(
            {"error": {"code": error.code, "message": error.message}},
            status_code=error.status,
            headers=headers,
        )
    response = redirect(back_to, error=error.code, **{k: v for k, v in (keep or {}).items() if v})
    response.headers.update(headers or {})
    return response


def ok_response(
    request: Request, to: str, payload: dict[str, Any] | None = None, **query: str
) -> Response:
    if wants_json(request):
        return JSONResponse({"ok": True, "redirect": to, **(payload or {})})
    return redirect(to, **query)


def set_private_cookie(
    response: Response, name: str, value: str, *, max_age: int, path: str
) -> None:
    """How every cookie of the app is set: HttpOnly, SameSite=Lax, Secure behind https."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="lax",
        secure=get_settings().secure_cookies,
    )


def clear_private_cookie(response: Response, name: str, *, path: str) -> None:
    response.delete_cookie(
        name, path=path, httponly=True, samesite="lax", secure=get_settings().secure_cookies
    )
