"""The backend's front door, installed as Reflex's `api_transformer`.

A plain ASGI dispatcher in front of Reflex: `/api/v1/*` (and the `HEAD /api` preflight) go to
the proxy, other `/api/*` routes to the web routes, everything else to Reflex. The proxy's
hot path never passes through Reflex's state machinery."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from aiusage.proxy.app import is_proxy_path, proxy_app
from aiusage.web import (
    account_routes,
    auth_routes,
    health,
    oauth_routes,
    stripe_routes,
    usage_routes,
)

# Each module's `routes` list is served under /api/; new backend routes add their module here.
ROUTE_MODULES = [auth_routes, health, oauth_routes, stripe_routes, usage_routes, account_routes]


def web_app() -> Starlette:
    return Starlette(routes=[route for module in ROUTE_MODULES for route in module.routes])


class FrontDoor:
    def __init__(self, reflex_app: ASGIApp) -> None:
        self.reflex_app = reflex_app
        self.web = web_app()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_proxy_path(scope["path"]):
            await proxy_app(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            await self.web(scope, receive, send)
            return
        await self.reflex_app(scope, receive, send)
