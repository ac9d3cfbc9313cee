"""The backend's front door, installed as Reflex's `api_transformer`.

A plain ASGI dispatcher in front of Reflex: `/api/v1/*` (and the `HEAD /api` preflight) go to
the proxy, other `/api/*` routes and `/metrics` to the web routes, everything else to Reflex.
The proxy's hot path never passes through Reflex's state machinery."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from aiusage.proxy.app import is_proxy_path, proxy_app
from aiusage.web import (
    account_routes,
    auth_routes,
    health,
    metrics_route,
    oauth_routes,
    stripe_routes,
    two_factor_routes,
    usage_routes,
)
from aiusage.web.console_guard import ConsoleGuard
from aiusage.web.security_headers import SecurityHeaders

# Each module's `routes` list is served under /api/ (and /metrics); new backend routes add
# their module here.
ROUTE_MODULES = [
    auth_routes,
    two_factor_routes,
    health,
    metrics_route,
    oauth_routes,
    stripe_routes,
    usage_routes,
    account_routes,
]


log = logging.getLogger("aiusage.web")

HTTP_ERROR_CODES = {
    400: ("bad_request", "The request is malformed."),
    404: ("not_found", "There is no such page."),
    405: ("method_not_allowed", "This address does not take that method."),
}


async def http_error(_request: Request, error: Exception) -> Response:
    """Starlette's own refusals (unknown /api/ path, wrong method) in the routes' error shape."""
    assert isinstance(error, HTTPException)
    code, message = HTTP_ERROR_CODES.get(error.status_code, ("http_error", str(error.detail)))
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=error.status_code,
        headers=error.headers,
    )


async def server_error(request: Request, error: Exception) -> Response:
    """A bug: logged with its traceback (Starlette re-raises it), answered in the error shape
    without any detail of it."""
    log.error("unhandled %s on %s %s", type(error).__name__, request.method, request.url.path)
    return JSONResponse(
        {"error": {"code": "internal_error", "message": "Something went wrong on our side."}},
        status_code=500,
    )


def web_app() -> Starlette:
    return Starlette(
        routes=[route for module in ROUTE_MODULES for route in module.routes],
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )


class FrontDoor:
    def __init__(self, reflex_app: ASGIApp) -> None:
        # Security headers (CSP, frame-ancestors, nosniff, HSTS behind https) on every answer.
        # The console's pages only for operators (their events are checked in state/console.py).
        self.reflex_app = SecurityHeaders(ConsoleGuard(reflex_app))
        self.web = SecurityHeaders(web_app())
        self.proxy = SecurityHeaders(proxy_app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and is_proxy_path(scope["path"]):
            await self.proxy(scope, receive, send)
            return
        if scope["type"] == "http" and (
            scope["path"].startswith("/api/") or scope["path"] == metrics_route.PATH
        ):
            await self.web(scope, receive, send)
            return
        await self.reflex_app(scope, receive, send)
