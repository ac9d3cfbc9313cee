"""The proxy's ASGI app: provider-compatible paths under /api (Anthropic tools use base URL
<site>/api, OpenAI tools <site>/api/v1), answering errors in each provider's own format."""

from __future__ import annotations

import logging

from starlette.types import Receive, Scope, Send

from aiusage.proxy.errors import ProxyError
from aiusage.proxy.handler import ProxyCall, Route, send_error
from aiusage.proxy.runtime import ProxyRuntime, runtime

log = logging.getLogger("aiusage.proxy")

ROUTES: dict[str, tuple[str, Route]] = {
    "/api/v1/messages": ("POST", Route("anthropic", "/v1/messages", metered=True)),
    "/api/v1/messages/count_tokens": (
        "POST",
        Route("anthropic", "/v1/messages/count_tokens", metered=False),
    ),
    "/api/v1/chat/completions": ("POST", Route("openai", "/v1/chat/completions", metered=True)),
    "/api/v1/models": ("GET", Route("anthropic", "/v1/models", metered=False)),
}
OPENAI_MODELS = Route("openai", "/v1/models", metered=False)
PREFLIGHT_PATHS = ("/api", "/api/")


def is_proxy_path(path: str) -> bool:
    return path.startswith("/api/v1/") or path in PREFLIGHT_PATHS


def _route_for(scope: Scope) -> tuple[str, Route] | None:
    found = ROUTES.get(scope["path"].rstrip("/") or "/")
    if found and found[1].upstream_path == "/v1/models":
        # Both providers list models at /v1/models; Anthropic clients say which API they speak.
        headers = dict(scope["headers"])
        if b"anthropic-version" not in headers and b"x-api-key" not in headers:
            return "GET", OPENAI_MODELS
    return found


def _guess_provider(scope: Scope) -> str:
    return "openai" if "chat" in scope["path"] else "anthropic"


class ProxyApp:
    def __init__(self, rt: ProxyRuntime = runtime) -> None:
        self.rt = rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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
        found = _route_for(scope)
        if found is None:
            await send_error(
                send,
                _guess_provider(scope),
                ProxyError(404, f"No such endpoint: {scope['method']} {scope['path']}."),
            )
            return
        method, route = found
        if scope["method"] != method:
            await send_error(
                send, route.provider, ProxyError(405, f"Use {method} for {scope['path']}.")
            )
            return
        if not self.rt.started:
            await self.rt.start()
        call = ProxyCall(self.rt, route, scope)
        try:
            if route.metered:
                await call.metered(receive, send)
            else:
                await call.passthrough(receive, send)
        except ProxyError as error:
            try:
                await send_error(send, route.provider, error)
            except Exception:  # the response had already started or the client is gone
                log.debug("could not send error %s to the client", error.status)
        except Exception:
            log.exception("proxy request %s failed", call.request_id)
            try:
                await send_error(
                    send,
                    route.provider,
                    ProxyError(500, "The proxy failed to handle this request."),
                )
            except Exception:
                log.debug("could not send the error to the client")


proxy_app = ProxyApp()
