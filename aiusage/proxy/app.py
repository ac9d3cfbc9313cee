"""The proxy's ASGI app: provider-compatible paths under /api (Anthropic tools use base URL
<site>/api, OpenAI tools <site>/api/v1), answering errors in each provider's own format."""

from __future__ import annotations

import logging
import re

from starlette.types import Receive, Scope, Send

from aiusage.db import database_unavailable
from aiusage.proxy.asgi_io import send_error
from aiusage.proxy.errors import ProxyError
from aiusage.proxy.handler import ProxyCall, Route
from aiusage.proxy.key_info import KEY_ROUTES
from aiusage.proxy.runtime import ProxyRuntime, runtime
from aiusage.proxy.surfaces.anthropic_messages import ANTHROPIC_MESSAGES
from aiusage.proxy.surfaces.openai_chat import OPENAI_CHAT
from aiusage.proxy.surfaces.openai_responses import OPENAI_RESPONSES

log = logging.getLogger("aiusage.proxy")

ROUTES: dict[str, Route] = {
    "/api/v1/messages": Route("POST", "anthropic", "/v1/messages", ANTHROPIC_MESSAGES),
    "/api/v1/messages/count_tokens": Route("POST", "anthropic", "/v1/messages/count_tokens"),
    "/api/v1/chat/completions": Route("POST", "openai", "/v1/chat/completions", OPENAI_CHAT),
    "/api/v1/responses": Route("POST", "openai", "/v1/responses", OPENAI_RESPONSES),
    "/api/v1/responses/input_tokens": Route("POST", "openai", "/v1/responses/input_tokens"),
    "/api/v1/models": Route("GET", "anthropic", "/v1/models"),
}
OPENAI_MODELS = Route("GET", "openai", "/v1/models")
# A stored response and its parts: passed through unmetered (no new work upstream). Only
# these shapes: the path goes upstream with the platform's key, so nothing else may.
STORED_RESPONSE = re.compile(
    r"/api/v1/responses/(resp_[A-Za-z0-9_-]{1,128})(/cancel|/input_items)?"
)
STORED_RESPONSE_METHODS = {"": ("GET", "DELETE"), "/cancel": ("POST",), "/input_items": ("GET",)}
PREFLIGHT_PATHS = ("/api", "/api/")


def is_proxy_path(path: str) -> bool:
    return path.startswith("/api/v1/") or path in PREFLIGHT_PATHS


def _route_for(scope: Scope) -> Route | None:
    path = scope["path"].rstrip("/") or "/"
    found = ROUTES.get(path)
    if found and found.upstream_path == "/v1/models":
        # Both providers list models at /v1/models; Anthropic clients say which API they speak.
        headers = dict(scope["headers"])
        if b"anthropic-version" not in headers and b"x-api-key" not in headers:
            return OPENAI_MODELS
    if found is None and (stored := STORED_RESPONSE.fullmatch(path)):
        part = stored.group(2) or ""
        method = (
            scope["method"]
            if scope["method"] in STORED_RESPONSE_METHODS[part]
            else (STORED_RESPONSE_METHODS[part][0])
        )
        return Route(method, "openai", path.removeprefix("/api"))
    return found


def _guess_format(scope: Scope) -> str:
    path = scope["path"]
    return "openai" if "chat" in path or "responses" in path else "anthropic"


class ProxyApp:
    def __init__(self, rt: ProxyRuntime = runtime) -> None:
        self.rt = rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # Codex tries the Responses API over a WebSocket first when allowed: refused
            # before the handshake completes (HTTP 403), so clients fall back to HTTP + SSE.
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["path"] in PREFLIGHT_PATHS:
            # Claude Code's connectivity check: answer at once, no key needed.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")],
                }
            )
            await send(
                {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else b"ok"}
            )
            return
        if (own := KEY_ROUTES.get(scope["path"].rstrip("/"))) is not None:
            await own(self.rt, scope, receive, send)  # the key's own info: not proxied
            return
        route = _route_for(scope)
        if route is None:
            await send_error(
                send,
                _guess_format(scope),
                ProxyError(404, f"No such endpoint: {scope['method']} {scope['path']}."),
            )
            return
        if scope["method"] != route.method:
            await send_error(
                send,
                route.client_format,
                ProxyError(405, f"Use {route.method} for {scope['path']}."),
            )
            return
        if not self.rt.started:
            await self.rt.start()
        call = ProxyCall(self.rt, route, scope)
        refused = 0  # the status of an error answer the proxy sends itself
        try:
            if route.surface is not None:
                await call.metered(route.surface, receive, send)
            else:
                await call.passthrough(receive, send)
        except ProxyError as error:
            refused = error.status
            try:
                await send_error(send, call.client_format, error)
            except Exception:  # the response had already started or the client is gone
                log.debug("could not send error %s to the client", error.status)
        except Exception as error:
            if database_unavailable(error):  # restarting or unreachable: retry, not our bug
                refused = 503
                log.warning(
                    "proxy request %s refused: database unavailable (%s)",
                    call.request_id,
                    type(error).__name__,
                )
                failure = ProxyError(
                    503, "The service is briefly unavailable; retry the request.", retry_after=1
                )
            else:
                refused = 500
                log.exception("proxy request %s failed", call.request_id)
                failure = ProxyError(500, "The proxy failed to handle this request.")
            try:
                await send_error(send, call.client_format, failure)
            except Exception:
                log.debug("could not send the error to the client")
        finally:
            call.observe(refused)


proxy_app = ProxyApp()
