"""Dates, numbers and money for display, per page language ("en" or "zh").

Pure functions over the stored values: money is integer nano-USD turned into an exact Decimal
and rounded half-up (never a float); times are stored in UTC and shown either in the
browser's offset (minutes east of UTC, where the page knows it) or in UTC, labelled so.
Machine-readable output (CSV exports, form inputs) does not go through here."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from aiusage.money import rounded_usd

# The balance is in US dollars: Chinese says so with "US$" (a bare "$" or "¥" would be
# ambiguous for a reader in mainland China, Taiwan or Hong Kong).
CURRENCY = {"en": "$", "zh": "US$"}
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Compact units, largest first: English thousands, Chinese 万 (10⁴) and 亿 (10⁸).
TOKEN_UNITS = {
    "en": ((10**9, "B"), (10**6, "M"), (10**3, "K")),
    "zh": ((10**8, "亿"), (10**4, "万")),
}


def _lang(lang: str | None) -> str:
    return "zh" if lang == "zh" else "en"


def format_money(nano: int, lang: str, places: int = 2) -> str:
    """'$1,234.56' / 'US$1,234.56'; negative '-$1.00'. Exact, rounded half-up to `places`."""
    value = rounded_usd(int(nano), places)
    sign = "-" if value < 0 else ""
    return f"{sign}{CURRENCY[_lang(lang)]}{abs(value):,}"


def format_number(n: int, _lang: str) -> str:
    """Grouped by thousands in both languages ('1,234,567': the mainland Chinese convention
    too); the language is taken like every formatter's, for the day that changes."""
    return f"{int(n):,}"


def format_percent_bps(bps: int, _lang: str) -> str:
    """A share given in basis points (1/100 of a percent) as '2.50%' (integers only)."""
    whole, rest = divmod(int(bps), 100)
    return f"{whole}.{rest:02d}%"


def _compact(value: Decimal) -> str:
    """One decimal below 100 units, none from 100 up; '1.0' reads '1'."""
    places = Decimal(1) if value >= 100 else Decimal("0.1")
    text = str(value.quantize(places, rounding=ROUND_HALF_UP))
    return text[:-2] if text.endswith(".0") else text


def format_tokens(n: int, lang: str) -> str:
    """Compact counts: '1.2M', '12.3K' in English; '120万', '1.2万', '3.4亿' in Chinese.
    Below the smallest unit, the grouped number."""
    n = int(n)
    sign, magnitude = ("-" if n < 0 else ""), abs(n)
    units = TOKEN_UNITS[_lang(lang)]
    for i, (size, suffix) in enumerate(units):
        if magnitude < size:
            continue
        text = _compact(Decimal(magnitude) / size)
        if i > 0 and Decimal(text) * size >= units[i - 1][0]:  # 999,960 → "1M", not "1000K"
            size, suffix = units[i - 1]
            text = _compact(Decimal(magnitude) / size)
        return f"{sign}{text}{suffix}"
    return f"{n:,}"


def _shift(moment: datetime, tz_offset_minutes: int | None) -> datetime:
    """The stored UTC moment (naive means UTC) as wall-clock time in the given offset."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment + timedelta(minutes=tz_offset_minutes or 0)


def _day(day: date, lang: str) -> str:
    if _lang(lang) == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{MONTHS_EN[day.month - 1]} {day.day}, {day.year}"


def format_datetime(
    moment: datetime | None,
    lang: str,
    tz_offset_minutes: int | None = None,
    *,
    seconds: bool = False,
) -> str:
    """'Nov 23, 2026, 14:05' / '2026年11月23日 14:05' in the browser's offset (minutes east
    of UTC); without an offset in UTC, with ' UTC' appended. None → ''."""
    if moment is None:
        return ""
    local = _shift(moment, tz_offset_minutes)
    clock = local.strftime("%H:%M:%S" if seconds else "%H:%M")
    text = (
        f"{_day(local, lang)} {clock}" if _lang(lang) == "zh" else f"{_day(local, lang)}, {clock}"
    )
    return text if tz_offset_minutes is not None else f"{text} UTC"


def format_date(
    moment: date | datetime | None, lang: str, tz_offset_minutes: int | None = None
) -> str:
    """'Nov 23, 2026' / '2026年11月23日'. A datetime is a stored UTC moment: shown in the
    browser's offset, or as its UTC day labelled ' (UTC)'. A plain date is shown as is."""
    if moment is None:
        return ""
    if not isinstance(moment, datetime):
        return _day(moment, lang)
    text = _day(_shift(moment, tz_offset_minutes).date(), lang)
    return text if tz_offset_minutes is not None else f"{text} (UTC)"


def format_date_range(first: date, last: date, lang: str) -> str:
    """One day, or 'first – last'."""
    if first == last:
        return format_date(first, lang)
    return f"{format_date(first, lang)} – {format_date(last, lang)}"
