"""What a proxy key can learn about itself (OpenRouter's `GET /api/v1/key`, status-bar tools).

`GET /api/v1/key` answers with the presented key's own settings, its spend and its owner's
available balance; `GET /api/v1/key/usage?days=N` with that key's totals per UTC day. Nothing
about the owner's other keys or any other account. Both are unmetered, authenticated exactly
as the proxied routes are (disabled, expired and network rules included), rate-limited per
key like the other unmetered routes, and answer errors in OpenAI's shape.

The figures are the dashboard's: a key's lifetime spend is `proxy_keys.spent_nano` (what the
keys page shows), its days are summed from the `usage_hourly` rollup (what the usage page's
charts read, in UTC). Money is given as exact dollar strings with 9 decimal places, from the
integer nano-USD (never a float); times as ISO 8601 UTC."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.types import Receive, Scope, Send

from aiusage.config import get_settings
from aiusage.db import dialect_name, session_scope
from aiusage.models import ROLLUP_TOTALS, Hold, ProxyKey, UsageHourly, User
from aiusage.models.base import table_of
from aiusage.money import exact_usd
from aiusage.proxy.asgi_io import send_error, send_json
from aiusage.proxy.auth import KeyGrant
from aiusage.proxy.errors import ProxyError
from aiusage.proxy.handler import authenticate, refuse_unusable_key
from aiusage.proxy.runtime import ProxyRuntime
from aiusage.services import key_rules

log = logging.getLogger("aiusage.proxy")

KEY_PATH = "/api/v1/key"
USAGE_PATH = "/api/v1/key/usage"
DEFAULT_DAYS = 30
MAX_DAYS = 366
ERROR_FORMAT = "openai"  # OpenRouter's endpoint, read by OpenAI-style tools

H = table_of(UsageHourly).c


def _usd_or_none(nano: int | None) -> str | None:
    return None if nano is None else exact_usd(nano)


def iso_utc(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC to the second, with a `Z`; None stays None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- the key ------------------------------------------------------------------------------


K = table_of(ProxyKey).c
# Only what is shown (not the whole row): the columns this module reads, by name.
_KEY_COLUMNS = (
    K.name,
    K.prefix,
    K.created_at,
    K.last_used_at,
    K.expires_at,
    K.disabled_at,
    K.spend_limit_nano,
    K.rpm_limit,
    K.tpm_limit,
    K.budget_nano,
    K.budget_period,
    K.allowed_models,
    K.allowed_networks,
    K.spent_nano,
    K.period_start_ms,
    K.period_spent_nano,
)


def _live_key(grant: KeyGrant, *columns: Any) -> sa.Select[Any]:
    """`columns` of the grant's key while it is unrevoked and its account open."""
    return (
        sa.select(*columns)
        .select_from(table_of(ProxyKey).join(table_of(User), col(User.id) == K.user_id))
        .where(
            K.id == grant.key_id,
            K.user_id == grant.user_id,
            K.revoked_at.is_(None),
            col(User.closed_at).is_(None),
        )
    )


def _refuse_unless_usable(key: Any, now: datetime) -> Any:
    """The key cache may be a second old: a key revoked, disabled or expired since it was
    loaded is refused here at once, as the proxy refuses it once the cache has caught up."""
    if key is None:
        raise ProxyError(401, "Invalid API key: it is unknown or has been revoked.")
    refuse_unusable_key(key.disabled_at is not None, key.expires_at, now)
    return key


async def key_summary(session: AsyncSession, grant: KeyGrant, now: datetime) -> dict[str, Any]:
    """The key's settings and spend, and its owner's available balance, read in one
    statement (one snapshot). `held_usd`: what the key's requests in flight hold on the
    balance (its hold rows), whether or not the key has a limit of its own."""
    held_on_key = (
        sa.select(sa.func.coalesce(sa.func.sum(col(Hold.amount_nano)), 0))
        .where(col(Hold.user_id) == grant.user_id, col(Hold.proxy_key_id) == grant.key_id)
        .scalar_subquery()
    )
    key = _refuse_unless_usable(
        (
            await session.execute(
                _live_key(
                    grant,
                    *_KEY_COLUMNS,
                    col(User.balance_nano).label("balance_nano"),
                    col(User.held_nano).label("user_held_nano"),
                    held_on_key.label("key_held_nano"),
                )
            )
        ).one_or_none(),
        now,
    )
    period = key.budget_period
    if period in key_rules.PERIODS:
        period_spent: int | None = key_rules.period_spent(key, now)  # as the holds see it
        next_reset: str | None = iso_utc(key_rules.next_reset(period, now))
    else:
        period, period_spent, next_reset = None, None, None
    return {
        "name": key.name,
        "prefix": key.prefix,
        "created_at": iso_utc(key.created_at),
        "last_used_at": iso_utc(key.last_used_at),
        "expires_at": iso_utc(key.expires_at),
        "disabled": key.disabled_at is not None,
        "limits": {
            "spend_limit_usd": _usd_or_none(key.spend_limit_nano),
            "rpm": key.rpm_limit,
            "tpm": key.tpm_limit,
            "budget_usd": _usd_or_none(key.budget_nano),
            "budget_period": period,
            "allowed_models": list(key_rules.model_patterns(key.allowed_models)),
            "allowed_networks": [str(n) for n in key_rules.networks(key.allowed_networks)],
        },
        "spend": {
            "lifetime_usd": exact_usd(key.spent_nano),
            "period_usd": _usd_or_none(period_spent),
            "held_usd": exact_usd(int(key.key_held_nano)),
        },
        "next_reset": next_reset,
        "balance": {"available_usd": exact_usd(key.balance_nano - key.user_held_nano)},
    }


# --- the key's days -----------------------------------------------------------------------


def parse_days(query_string: bytes) -> int:
    """`days` from the query string: 1..MAX_DAYS in ASCII digits, DEFAULT_DAYS if absent."""
    try:
        params = parse_qs(query_string.decode("ascii"), keep_blank_values=True)
    except UnicodeDecodeError:
        params = {"days": [""]}
    values = params.get("days")
    if values is None:
        return DEFAULT_DAYS
    text = values[0] if len(values) == 1 else ""
    if not (text.isascii() and text.isdigit() and len(text) <= 3 and 1 <= int(text) <= MAX_DAYS):
        raise ProxyError(400, f"Invalid 'days' parameter: a whole number from 1 to {MAX_DAYS}.")
    return int(text)


def _utc_day(column: Any, dialect: str) -> Any:
    """The stored hour's UTC date as 'YYYY-MM-DD', computed in SQL."""
    if dialect == "sqlite":
        return sa.func.strftime("%Y-%m-%d", column)
    return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM-DD")


_DAY_SUMS = ROLLUP_TOTALS


async def daily_usage(
    session: AsyncSession, grant: KeyGrant, days: int, now: datetime
) -> list[dict[str, Any]]:
    """The key's totals for each of the last `days` UTC days (today included), oldest first;
    a day without usage is listed with zeros, as the dashboard's charts show it."""
    live = await session.execute(_live_key(grant, K.disabled_at, K.expires_at))
    _refuse_unless_usable(live.one_or_none(), now)
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)
    label = _utc_day(H.hour, dialect_name(session)).label("day")
    rows = await session.execute(
        sa.select(label, *[sa.func.coalesce(sa.func.sum(H[name]), 0) for name in _DAY_SUMS])
        .where(
            H.user_id == grant.user_id,
            H.proxy_key_id == grant.key_id,
            H.hour >= start,
            H.hour < end,
        )
        .group_by(label)
    )
    found = {row[0]: [int(v or 0) for v in row[1:]] for row in rows}
    out = []
    for offset in range(days):
        day: date = first + timedelta(days=offset)
        sums = dict(zip(_DAY_SUMS, found.get(day.isoformat(), [0] * len(_DAY_SUMS)), strict=True))
        out.append(
            {
                "date": day.isoformat(),
                "requests": sums["requests"],
                "errors": sums["errors"],
                "input_tokens": sums["input_tokens"],
                "output_tokens": sums["output_tokens"],
                "cache_write_tokens": sums["cache_write_tokens"],
                "cache_read_tokens": sums["cache_read_tokens"],
                "cost_usd": exact_usd(sums["cost_nano"]),
                "charged_usd": exact_usd(sums["charged_nano"]),
            }
        )
    return out


# --- the ASGI side ------------------------------------------------------------------------


async def answer_key_info(rt: ProxyRuntime, scope: Scope, _receive: Receive, send: Send) -> None:
    """`GET /api/v1/key` and `GET /api/v1/key/usage`: JSON about the presented key only."""
    try:
        if scope["method"] != "GET":
            raise ProxyError(405, f"Use GET for {scope['path']}.")
        grant = await authenticate(rt, scope, dict(scope["headers"]))
        wait = await rt.unmetered_rpm.try_hit(str(grant.key_id), get_settings().unmetered_rpm)
        if wait:
            raise ProxyError(
                429, "Too many requests to this endpoint with this key.", retry_after=wait
            )
        usage = scope["path"].rstrip("/") == USAGE_PATH
        days = parse_days(scope.get("query_string", b"")) if usage else 0
        now = datetime.now(UTC)
        async with session_scope() as session:
            data: Any = (
                await daily_usage(session, grant, days, now)
                if usage
                else await key_summary(session, grant, now)
            )
        body = json.dumps({"data": data}, separators=(",", ":")).encode()
        await send_json(send, 200, body, [(b"cache-control", b"no-store")])
    except ProxyError as error:
        try:
            await send_error(send, ERROR_FORMAT, error)
        except Exception:  # the client is gone
            log.debug("could not send error %s to the client", error.status)
    except Exception:
        log.exception("key info request %s failed", scope["path"])
        try:
            await send_error(
                send, ERROR_FORMAT, ProxyError(500, "The proxy failed to handle this request.")
            )
        except Exception:
            log.debug("could not send the error to the client")


KeyInfoHandler = Callable[[ProxyRuntime, Scope, Receive, Send], Awaitable[None]]
# Paths answered by this module (checked by the proxy app before its provider routes).
KEY_ROUTES: dict[str, KeyInfoHandler] = {KEY_PATH: answer_key_info, USAGE_PATH: answer_key_info}
