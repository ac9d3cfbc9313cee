"""Expected charges computed independently of the app's code, from list prices in dollars."""

from __future__ import annotations

import math
from decimal import Decimal

# USD per million tokens, as seeded: input, output, cache write 5m, cache write 1h, cache read.
LIST = {
    "claude-sonnet-4-5": ("3", "15", "3.75", "6", "0.30"),
    "claude-haiku-4-5": ("1", "5", "1.25", "2", "0.10"),
    "claude-haiku-5-5": ("0.10", "0.50", "0.125", "0.20", "0.01"),
    # Every token of a Haiku 5.5 request whose prompt is over 100k tokens:
    "claude-haiku-5-5 long": ("0.50", "2.50", "0.625", "1", "0.05"),
    "gpt-4o": ("2.50", "10", "2.50", "2.50", "1.25"),
    "gpt-4o-mini": ("0.15", "0.60", "0.15", "0.15", "0.075"),
}
BYOK_FEE = Decimal("0.05")  # the default service fee on the user's own key
PLATFORM_MARKUP = Decimal("0.10")  # the default markup on the platform's key


def cost_usd(
    model: str, inp: int = 0, out: int = 0, cw5m: int = 0, cw1h: int = 0, read: int = 0
) -> Decimal:
    prices = [Decimal(p) for p in LIST[model]]
    tokens = [inp, out, cw5m, cw1h, read]
    return (
        sum((Decimal(t) * p for t, p in zip(tokens, prices, strict=True)), Decimal(0)) / 1_000_000
    )


def to_nano_up(usd: Decimal) -> int:
    return math.ceil(usd * 1_000_000_000)


def byok_charge_nano(cost: Decimal) -> int:
    return math.ceil(Decimal(to_nano_up(cost)) * BYOK_FEE)


def platform_charge_nano(cost: Decimal) -> int:
    nano = to_nano_up(cost)
    return nano + math.ceil(Decimal(nano) * PLATFORM_MARKUP)
