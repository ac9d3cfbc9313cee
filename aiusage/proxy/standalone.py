"""The proxy served on its own (`aiusage proxy serve --workers N`), for when the proxy and
the dashboard must scale apart: same routes, same database, no Reflex."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from aiusage.db import dispose_engine
from aiusage.proxy.app import is_proxy_path, proxy_app
from aiusage.proxy.runtime import runtime
from aiusage.web import health


@contextlib.asynccontextmanager
async def _lifespan(_app: Starlette) -> AsyncIterator[None]:
    await runtime.start()
    try:
        yield
    finally:
        await runtime.stop()
        await dispose_engine()


class StandaloneProxy:
    """Proxy paths go straight to the proxy; health and the lifespan to a small Starlette."""

    def __init__(self) -> None:
        self.web = Starlette(routes=health.routes, lifespan=_lifespan)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_proxy_path(scope["path"]):
            await proxy_app(scope, receive, send)
            return
        await self.web(scope, receive, send)


app = StandaloneProxy()
