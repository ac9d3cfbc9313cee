"""The usage page's rows as a CSV download: exact dollar amounts (provider cost, charge and
our fee), UTC ISO times, streamed in chunks."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import UTC
from typing import Any

from aiusage.services import usage

CSV_CHUNK = 2000

CSV_HEADER = (
    "time_utc",
    "key",
    "provider",
    "model",
    "endpoint",
    "input_tokens",
    "output_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cache_read_tokens",
    "cost_usd",
    "charged_usd",
    "fee_usd",
    "latency_ms",
    "ttfb_ms",
    "status",
    "error_type",
    "streamed",
)


def _usd(nano: int) -> str:
    sign = "-" if nano < 0 else ""
    whole, frac = divmod(abs(nano), 1_000_000_000)
    return f"{sign}{whole}.{frac:09d}"


def _csv_line(writer: Any, buffer: io.StringIO, values: Sequence[Any]) -> str:
    buffer.seek(0)
    buffer.truncate()
    writer.writerow(values)
    return buffer.getvalue()


async def csv_lines(session_factory: Any, f: usage.UsageFilter) -> AsyncIterator[str]:
    """The filtered rows as CSV (exact dollar amounts, UTC ISO times), fetched in chunks
    with a short database session per chunk so a slow download holds no transaction."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield _csv_line(writer, buffer, CSV_HEADER)
    cursor: usage.Cursor | None = None
    while True:
        async with session_factory() as db:
            rows, cursor = await usage.page(db, f, cursor, limit=CSV_CHUNK)
        chunk = [
            _csv_line(
                writer,
                buffer,
                (
                    r.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                    r.key_name or "",
                    r.provider,
                    r.model,
                    r.endpoint,
                    r.input_tokens,
                    r.output_tokens,
                    r.cache_write_5m_tokens,
                    r.cache_write_1h_tokens,
                    r.cache_read_tokens,
                    _usd(r.cost_nano),
                    _usd(r.charged_nano),
                    _usd(r.fee_nano),
                    r.latency_ms,
                    "" if r.ttfb_ms is None else r.ttfb_ms,
                    r.status,
                    r.error_type or "",
                    "true" if r.streamed else "false",
                ),
            )
            for r in rows
        ]
        if chunk:
            yield "".join(chunk)
        if cursor is None:
            return
