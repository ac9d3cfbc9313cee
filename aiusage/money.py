"""Conversions between dollars (Decimal) and the integer nano-USD every balance is kept in."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from aiusage.services.errors import ServiceError

NANO_PER_USD = 1_000_000_000
# Any amount a person can type: far above any balance, far below a 64-bit column's limit.
MAX_USD = 1_000_000_000


def parse_dollars(
    text: str | None,
    *,
    code: str,
    blank: bool = False,
    cents: bool = False,
    maximum: Decimal | None = None,
) -> int | None:
    """Dollars as a person types them ('5', '$2.50', '1,000') → nano-USD, never negative.
    `blank`: an empty text is None (else an error); `cents`: at most two decimals; `maximum`:
    in dollars. Any refusal is ServiceError(code) with one message the forms translate."""
    value = (text or "").strip().lstrip("$").strip().replace(",", "")
    if not value:
        if blank:
            return None
        raise ServiceError(code, "Give the amount in dollars, e.g. 5 or 2.50.")
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError):
        raise ServiceError(code, "Give the amount in dollars, e.g. 5 or 2.50.") from None
    if (
        not amount.is_finite()
        or not 0 <= amount <= MAX_USD
        or amount != amount.quantize(Decimal("0.01") if cents else Decimal("1e-9"))
        or (maximum is not None and amount > maximum)
    ):
        raise ServiceError(code, "Give the amount in dollars, e.g. 5 or 2.50.")
    return usd_to_nano(amount)


def usd_to_nano(value: str | Decimal) -> int:
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError):
        raise ServiceError("bad_amount", "Give the amount in dollars, e.g. 10 or 2.50.") from None
    if not amount.is_finite():
        raise ServiceError("bad_amount", "Give the amount in dollars, e.g. 10 or 2.50.")
    if abs(amount) > MAX_USD:
        raise ServiceError("bad_amount", f"Amounts go up to ${MAX_USD:,}.")
    nano = amount * NANO_PER_USD
    if nano != nano.to_integral_value():
        raise ServiceError("bad_amount", "Amounts go to at most 9 decimal places.")
    return int(nano)


def nano_to_usd(nano: int) -> Decimal:
    return Decimal(nano) / NANO_PER_USD


def rounded_usd(nano: int, places: int = 2) -> Decimal:
    """Dollars rounded half-up to `places`: what every display of money shows."""
    return nano_to_usd(nano).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def format_usd(nano: int, places: int = 2) -> str:
    """For display (English, the CLI and messages): rounded half-up to `places` (cents by
    default), e.g. '$12.34'. Pages use i18n.formatting.format_money, the same per language."""
    value = rounded_usd(nano, places)
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,}"


def exact_usd(nano: int) -> str:
    """Exact dollars for machines (the key API), always 9 decimals: 12_345_678 → '0.012345678'."""
    sign = "-" if nano < 0 else ""
    whole, frac = divmod(abs(nano), NANO_PER_USD)
    return f"{sign}{whole}.{frac:09d}"
