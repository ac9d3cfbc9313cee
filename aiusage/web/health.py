"""GET /api/health: is the app up, can it reach its database, and is money waiting on an
operator? `dead_settlements`: usage rows the writer could not book and set aside;
`expired_holds`: holds of stopped instances not yet booked (live ones book them within a
lease)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aiusage.db import get_engine
from aiusage.models import DeadSettlement, Hold
from aiusage.proxy.holds import now_ms


async def dead_settlements(connection: AsyncConnection) -> int:
    """Usage rows the writer could not book, set aside and not yet resolved by an operator
    (also a figure of GET /metrics)."""
    return (
        await connection.execute(
            select(func.count())
            .select_from(DeadSettlement)
            .where(col(DeadSettlement.resolved_at).is_(None))
        )
    ).scalar_one()


async def health(_request: Request) -> JSONResponse:
    try:
        async with get_engine().connect() as connection:
            dead = await dead_settlements(connection)
            expired = (
                await connection.execute(
                    select(func.count())
                    .select_from(Hold)
                    .where(col(Hold.lease_until_ms) < now_ms())
                )
            ).scalar_one()
    except Exception as error:  # the health check reports, it never raises
        return JSONResponse(
            {"status": "degraded", "database": "error", "detail": type(error).__name__},
            status_code=503,
        )
    return JSONResponse(
        {"status": "ok", "database": "ok", "dead_settlements": dead, "expired_holds": expired}
    )


routes = [Route("/api/health", health, methods=["GET"])]
