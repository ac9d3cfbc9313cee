"""The proxy served on its own (`aiusage proxy serve --workers N`), for when the proxy and
the dashboard must scale apart: same routes, same database, no Reflex; health and /metrics
beside them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from aiusage.db import dispose_engine
from aiusage.observability.logs import configure_logging
from aiusage.proxy.app import is_proxy_path, proxy_app
from aiusage.proxy.runtime import runtime
from aiusage.web import health, metrics_route


@contextlib.asynccontextmanager
async def _lifespan(_app: Starlette) -> AsyncIterator[None]:
    configure_logging()
    await runtime.start()
    try:
        yield
    finally:
        await runtime.stop()
        await dispose_engine()


class StandaloneProxy:
    """Proxy paths go straight to the proxy; health, metrics and the lifespan to a small
    Starlette."""

    def __init__(self) -> None:
        self.web = Starlette(routes=health.routes + metrics_route.routes, lifespan=_lifespan)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_proxy_path(scope["path"]):
            await proxy_app(scope, receive, send)
            return
        await self.web(scope, receive, send)


app = StandaloneProxy()
