"""Sign in with Google: OpenID Connect through authlib's Starlette client.

GET /api/auth/google/start sends the browser to the provider with a fresh state, nonce and
PKCE verifier; authlib keeps them in `request.session`, which here is a short-lived signed
HttpOnly cookie of our own (no global SessionMiddleware, nothing in the database). GET
/api/auth/google/callback checks the state against that cookie, exchanges the code, verifies
the ID token (signature against the provider's JWKS, issuer, audience, expiry, nonce), then
signs in, links or creates the account and sets the same `bai_session` cookie as a password
log-in, then goes to the page asked for before the sign-in (kept in the flow cookie) or the
dashboard. Every refusal goes back to /login?error=<code>."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.starlette_client import OAuth
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aiusage.config import get_settings
from aiusage.db import session_scope, write_lock
from aiusage.i18n import negotiate
from aiusage.services import identities, redirects, sessions, twofactor
from aiusage.services.errors import ServiceError
from aiusage.web.auth_routes import forget_typed_email, set_session_cookie
from aiusage.web.http import clear_private_cookie, client_ip, redirect, set_private_cookie
from aiusage.web.second_step import code_page_response

log = logging.getLogger("aiusage.oauth")

PROVIDER = identities.GOOGLE
FLOW_COOKIE = "bai_oidc"
FLOW_COOKIE_PATH = "/api/auth/google"
FLOW_TTL_SECONDS = 600
MAX_COOKIE_CHARS = 3000
CALLBACK_PATH = "/api/auth/google/callback"
NEXT_KEY = "aiusage_next"  # the page asked for, in the flow cookie beside authlib's keys


def google_configured() -> bool:
    settings = get_settings()
    return bool(settings.google_client_id and settings.google_client_secret)


@functools.cache
def _oauth() -> OAuth:
    settings = get_settings()
    oauth = OAuth()
    oauth.register(
        name=PROVIDER,
        client_id=settings.google_client_id,
        client_secret=settings.google_client_secret,
        server_metadata_url=f"{settings.google_issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
    )
    return oauth


def _client() -> Any:
    return _oauth().create_client(PROVIDER)


# --- the signed flow cookie (authlib's "session") -------------------------------------------


def _flow_key() -> bytes:
    return hmac.new(get_settings().secret_key_bytes, b"aiusage oidc flow cookie", "sha256").digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_flow(data: dict[str, Any]) -> str:
    body = _b64(json.dumps({"exp": int(time.time()) + FLOW_TTL_SECONDS, "data": data}).encode())
    mac = _b64(hmac.new(_flow_key(), body.encode(), hashlib.sha256).digest())
    return f"{body}.{mac}"


def unsign_flow(value: str | None) -> dict[str, Any]:
    """The flow data if the cookie is ours, untampered and fresh; else an empty dict."""
    if not value or len(value) > MAX_COOKIE_CHARS or value.count(".") != 1:
        return {}
    if not value.isascii():  # compare_digest refuses non-ASCII str (TypeError)
        return {}
    body, mac = value.split(".")
    expected = _b64(hmac.new(_flow_key(), body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac, expected):
        return {}
    try:
        payload = json.loads(_unb64(body))
    except ValueError:
        return {}
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        return {}
    if not isinstance(payload.get("exp"), int) or payload["exp"] < time.time():
        return {}
    return payload["data"]


def _set_flow_cookie(response: Response, value: str) -> None:
    set_private_cookie(
        response, FLOW_COOKIE, value, max_age=FLOW_TTL_SECONDS, path=FLOW_COOKIE_PATH
    )


def _clear_flow_cookie(response: Response) -> None:
    clear_private_cookie(response, FLOW_COOKIE, path=FLOW_COOKIE_PATH)


def _fail(code: str, reason: str, next_path: str | None = None) -> Response:
    log.info("google sign-in refused: %s (%s)", code, reason)
    response = redirect("/login", error=code, **({"next": next_path} if next_path else {}))
    _clear_flow_cookie(response)
    return response


def _asked_for(request: Request) -> str | None:
    """The page to go to after the sign-in: `?next=` of this request, else of the log-in
    page the button was pressed on (the button's form sends none; a same-site Referer has
    the page's full URL). Checked: a path of this site or None."""
    if asked := redirects.safe_next(request.query_params.get("next")):
        return asked
    referer = urlsplit(request.headers.get("referer", ""))
    same_site = referer.netloc and (
        f"{referer.scheme}://{referer.netloc}" == get_settings().site_origin
        or referer.netloc == request.headers.get("host", "")
    )
    if not same_site or referer.path.rstrip("/") != redirects.LOGIN:
        return None
    return redirects.safe_next(parse_qs(referer.query).get("next", [""])[0])


# --- routes ---------------------------------------------------------------------------------


async def start(request: Request) -> Response:
    next_path = _asked_for(request)
    if not google_configured():
        return _fail("google_not_configured", "client id or secret not set", next_path)
    request.scope["session"] = {}
    try:
        response = await _client().authorize_redirect(
            request, get_settings().site_url + CALLBACK_PATH
        )
    except (httpx.HTTPError, ValueError, KeyError, RuntimeError) as error:
        return _fail("google_unavailable", type(error).__name__, next_path)
    flow = dict(request.scope["session"])
    if next_path:  # signed with authlib's data; checked again when it comes back
        flow[NEXT_KEY] = next_path
    _set_flow_cookie(response, sign_flow(flow))
    response.headers["cache-control"] = "no-store"
    return response


def _token_error(error: Exception) -> tuple[str, str]:
    """A log-in page error code for a failed exchange or ID-token check."""
    if isinstance(error, MismatchingStateError):
        return "google_state", "state does not match the flow cookie"
    if isinstance(error, ExpiredTokenError):
        return "google_token_expired", "ID token expired"
    if isinstance(error, ClaimError) and error.claim == "nonce":
        return "google_nonce", "nonce does not match"
    if isinstance(error, JoseError):
        return "google_token_invalid", f"{type(error).__name__}: {error.error}"
    if isinstance(error, OAuthError):
        if error.error == "access_denied":
            return "google_cancelled", "the user declined"
        return "google_failed", f"provider error {error.error}"
    return "google_unavailable", type(error).__name__


async def callback(request: Request) -> Response:
    if not google_configured():
        return _fail("google_not_configured", "client id or secret not set")
    flow = unsign_flow(request.cookies.get(FLOW_COOKIE))
    next_path = redirects.safe_next(flow.pop(NEXT_KEY, None))
    request.scope["session"] = flow
    settings = get_settings()
    try:
        token = await _client().authorize_access_token(
            request,
            claims_options={
                "iss": {"essential": True, "value": settings.google_issuer},
                "aud": {"essential": True, "value": settings.google_client_id},
                "exp": {"essential": True},
                "sub": {"essential": True},
            },
        )
    except (
        MismatchingStateError,
        OAuthError,
        JoseError,
        httpx.HTTPError,
        ValueError,
        KeyError,
    ) as error:
        code, reason = _token_error(error)
        return _fail(code, reason, next_path)
    claims = token.get("userinfo")
    if not claims:  # no ID token in the answer: nothing was verified
        return _fail("google_token_invalid", "no id_token in the token response", next_path)
    locale = negotiate(request.headers.get("accept-language"))
    try:
        async with write_lock(), session_scope() as db:
            user = await identities.sign_in_with_provider(db, PROVIDER, dict(claims), locale=locale)
            # Two-factor accounts get no session yet: a pending step, then the code page.
            pending = await twofactor.start_challenge(db, user)
            session_token = pending or await sessions.create_session(
                db, user, user_agent=request.headers.get("user-agent", ""), ip=client_ip(request)
            )
    except ServiceError as error:
        return _fail(error.code, error.message, next_path)
    if pending:
        response = code_page_response(request, pending, next_path)
        _clear_flow_cookie(response)
        return response
    response = redirect(redirects.after_sign_in(next_path))
    set_session_cookie(response, session_token)
    forget_typed_email(request, response)
    _clear_flow_cookie(response)
    return response


routes = [
    Route("/api/auth/google/start", start, methods=["GET"]),
    Route(CALLBACK_PATH, callback, methods=["GET"]),
]
