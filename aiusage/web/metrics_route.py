"""GET /metrics: Prometheus text for the operator's scraper, on the app server and on a
standalone proxy worker alike.

Off (404) unless `AIUSAGE_METRICS_TOKEN` is set; then only `Authorization: Bearer <token>`
gets it (401 otherwise, compared in constant time). What needs the database is read here, at
scrape time, with one short query per figure and a time limit — never on a request's path."""

from __future__ import annotations

import asyncio
import hmac

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy import case, func, select
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aiusage.config import get_settings
from aiusage.db import get_engine
from aiusage.models import Hold, OutboxEmail
from aiusage.models.base import table_of
from aiusage.observability import metrics
from aiusage.proxy.holds import now_ms
from aiusage.proxy.runtime import runtime
from aiusage.web.health import dead_settlements

PATH = "/metrics"
# Prometheus' default scrape timeout is 10 s: answer well within it, database or not.
DATABASE_SECONDS = 3.0


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


async def database_gauges() -> list[Metric]:
    """Holds, dead settlements and unsent mail, counted now; `aiusage_database_up` 0 (and
    no counts) when the database does not answer in time."""
    holds = table_of(Hold).c
    try:
        async with asyncio.timeout(DATABASE_SECONDS), get_engine().connect() as connection:
            held, expired = (
                await connection.execute(
                    select(
                        func.count(),
                        func.coalesce(
                            func.sum(case((holds.lease_until_ms < now_ms(), 1), else_=0)), 0
                        ),
                    ).select_from(table_of(Hold))
                )
            ).one()
            dead = await dead_settlements(connection)
            unsent = (
                await connection.execute(
                    select(func.count())
                    .select_from(OutboxEmail)
                    .where(col(OutboxEmail.sent_at).is_(None), col(OutboxEmail.body_text) != "")
                )
            ).scalar_one()
    except Exception:  # a scrape reports; the database's trouble is a figure, not a 500
        return [_gauge("aiusage_database_up", "1 if the database answered this scrape.", 0)]
    return [
        _gauge("aiusage_database_up", "1 if the database answered this scrape.", 1),
        _gauge(
            "aiusage_holds_outstanding",
            "Hold rows: forwarded requests not yet booked, on every instance.",
            held,
        ),
        _gauge(
            "aiusage_holds_expired",
            "Hold rows whose lease ran out (their process stopped); a live instance books them "
            "as interrupted within a lease.",
            expired,
        ),
        _gauge(
            "aiusage_dead_settlements",
            "Usage rows the writer could not book, set aside for an operator (unresolved).",
            dead,
        ),
        _gauge(
            "aiusage_emails_pending",
            "Mails in the outbox not sent yet (given-up and purged ones excluded).",
            unsent,
        ),
    ]


def _refused(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status, headers=headers)


async def metrics_endpoint(request: Request) -> Response:
    token = get_settings().metrics_token
    if not token:
        return _refused(404, "not_found", "There is no such page.")  # the endpoint is off
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        presented.strip().encode(), token.encode()
    ):
        return _refused(
            401,
            "unauthorized",
            "Send the metrics token as Authorization: Bearer <token>.",
            **{"www-authenticate": 'Bearer realm="metrics"'},
        )
    writer_queue = _gauge(
        "aiusage_usage_writer_queue_depth",
        "Settlements this process has handed to its usage writer and not yet booked.",
        runtime.writer.pending,
    )
    body = metrics.exposition([writer_queue, *await database_gauges()])
    return Response(body, headers={"content-type": metrics.CONTENT_TYPE})


routes = [Route(PATH, metrics_endpoint, methods=["GET"])]
