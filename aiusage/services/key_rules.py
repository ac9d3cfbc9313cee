"""What a proxy key may do, as plain values: which models (patterns with `*`), from which
networks, and its spend budget's periods (UTC: a day from midnight, a week from Monday, a
month from the 1st). Parsed and checked here once; the proxy and the dashboard use the same
rules."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Protocol

from aiusage.services.errors import ServiceError
from aiusage.services.text import checked_text

PERIODS = ("day", "week", "month")
PERIOD_ADJECTIVES = {"day": "daily", "week": "weekly", "month": "monthly"}
MAX_PATTERNS = 50
MAX_PATTERN_CHARS = 100
MAX_NETWORKS = 50

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def model_patterns(text: str | None) -> tuple[str, ...]:
    """Comma-separated model patterns (`claude-haiku-*, gpt-5*`, exact names); () for none."""
    text = checked_text(text or "", code="bad_models", max_chars=2000)
    patterns = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    if len(patterns) > MAX_PATTERNS:
        raise ServiceError("bad_models", f"At most {MAX_PATTERNS} model patterns.")
    for pattern in patterns:
        if len(pattern) > MAX_PATTERN_CHARS or any(c in pattern for c in "[]?"):
            raise ServiceError(
                "bad_models",
                "A model pattern is a model name, or one with * for any characters.",
            )
    return patterns


def model_allowed(patterns: tuple[str, ...], model: str) -> bool:
    return not patterns or any(fnmatchcase(model, pattern) for pattern in patterns)


def networks(text: str | None) -> tuple[Network, ...]:
    """Comma-separated CIDRs (or single addresses); () for none."""
    text = checked_text(text or "", code="bad_networks", max_chars=2000)
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if len(parts) > MAX_NETWORKS:
        raise ServiceError("bad_networks", f"At most {MAX_NETWORKS} networks.")
    try:
        return tuple(ipaddress.ip_network(part, strict=False) for part in parts)
    except ValueError:
        raise ServiceError(
            "bad_networks", "Networks are addresses or CIDRs, like 10.0.0.0/8 or 2001:db8::/32."
        ) from None


def address_allowed(allowed: tuple[Network, ...], address: str | None) -> bool:
    if not allowed:
        return True
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip.version == network.version and ip in network for network in allowed)


def period_start(period: str, now: datetime) -> datetime:
    """The start (UTC) of the budget period containing `now`."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    raise ServiceError("bad_period", "A budget period is day, week or month.")


def next_reset(period: str, now: datetime) -> datetime:
    start = period_start(period, now)
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    return (start + timedelta(days=32)).replace(day=1)


def period_start_ms(period: str | None, now: datetime) -> int:
    """The current period's start in milliseconds since the epoch; 0 without a period."""
    return int(period_start(period, now).timestamp() * 1000) if period else 0


def alert_percents(text: str | None) -> tuple[int, ...]:
    """Comma-separated percentages of a budget to mail at (1-100), sorted; () for none."""
    parts = [part.strip().rstrip("%") for part in (text or "").split(",") if part.strip()]
    if len(parts) > 5 or not all(part.isdigit() and 1 <= int(part) <= 100 for part in parts):
        raise ServiceError(
            "bad_alerts", "Budget alerts are up to five percentages from 1 to 100, like 50,80,100."
        )
    return tuple(sorted({int(part) for part in parts}))


class PeriodSpend(Protocol):
    budget_period: str | None
    period_start_ms: int
    period_spent_nano: int


def period_spent(key: PeriodSpend, now: datetime) -> int:
    """What a key has spent in its current budget period: a spend booked in an earlier
    period is restarted by the next hold or booking (as the proxy counts it), so it reads 0."""
    if key.budget_period is None:
        return 0
    current = key.period_start_ms >= period_start_ms(key.budget_period, now)
    return key.period_spent_nano if current else 0
