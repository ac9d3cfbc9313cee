"""GET /api/usage/export.csv: the signed-in user's usage rows, exactly as filtered on the
usage page (same query parameters), streamed as CSV. Authenticated by the session cookie;
a read-only GET, so no CSRF check is needed (nothing changes, and a cross-site page cannot
read the answer). The parameters are checked before the first byte is sent: a value the
page would never send (a key id in other digits than 0-9, a date outside the supported
calendar, …) is a 400 `bad_filter`, not a half-written download."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from aiusage.db import session_scope
from aiusage.models.base import id_of
from aiusage.services import usage, usage_csv
from aiusage.services.errors import ServiceError
from aiusage.web.http import session_user


async def export_csv(request: Request) -> Response:
    async with session_scope() as db:
        user = await session_user(db, request)
    if user is None:
        return JSONResponse(
            {"error": {"code": "not_signed_in", "message": "Log in to download your usage."}},
            status_code=401,
        )
    params = dict(request.query_params)  # the last value of a repeated name
    try:
        flt, _ = usage.filter_from_params(id_of(user), params, strict=True)
    except ServiceError as error:
        return JSONResponse(
            {"error": {"code": error.code, "message": error.message}}, status_code=error.status
        )
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        usage_csv.csv_lines(session_scope, flt),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="aiusage-usage-{stamp}.csv"',
            "cache-control": "no-store",
        },
    )


routes = [Route("/api/usage/export.csv", export_csv, methods=["GET"])]
