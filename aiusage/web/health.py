"""GET /api/health: is the app up, and can it reach its database?"""

from __future__ import annotations

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aiusage.db import get_engine


async def health(_request: Request) -> JSONResponse:
    try:
        async with get_engine().connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as error:  # the health check reports, it never raises
        return JSONResponse(
            {"status": "degraded", "database": "error", "detail": type(error).__name__},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": "ok"})


routes = [Route("/api/health", health, methods=["GET"])]
