"""Dates, numbers and money per page language (aiusage/i18n/formatting.py): exact money from
integer nano-USD, grouping, compact token counts, Chinese date forms, the browser's offset."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from aiusage.i18n.formatting import (
    format_date,
    format_date_range,
    format_datetime,
    format_money,
    format_number,
    format_tokens,
)

NANO = 1_000_000_000


@pytest.mark.parametrize(
    ("nano", "lang", "places", "expected"),
    [
        (1_234_560_000_000, "en", 2, "$1,234.56"),
        (1_234_560_000_000, "zh", 2, "US$1,234.56"),
        (0, "en", 2, "$0.00"),
        (0, "zh", 2, "US$0.00"),
        # Half-up at the cent, from the exact integer (no float on the way).
        (5_000_000, "en", 2, "$0.01"),
        (4_999_999, "en", 2, "$0.00"),
        (1_005_000_000, "en", 2, "$1.01"),
        (1_004_999_999, "en", 2, "$1.00"),
        # Negative amounts: half-up is away from zero; a rounded zero has no minus sign.
        (-1 * NANO, "en", 2, "-$1.00"),
        (-1_234_565_000_000, "zh", 2, "-US$1,234.57"),
        (-5_000_000, "en", 2, "-$0.01"),
        (-4_999_999, "en", 2, "$0.00"),
        # Other precisions.
        (2_400, "en", 6, "$0.000002"),
        (2_500, "zh", 6, "US$0.000003"),
        (12_345_678_900, "en", 4, "$12.3457"),
        (10 * NANO, "en", 0, "$10"),
        (123_456_789_012_345_678, "en", 2, "$123,456,789.01"),
    ],
)
def test_money(nano, lang, places, expected):
    assert format_money(nano, lang, places) == expected


def test_money_unknown_language_is_english():
    assert format_money(NANO, "fr") == "$1.00"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_number_grouping(lang):
    assert format_number(0, lang) == "0"
    assert format_number(999, lang) == "999"
    assert format_number(1_000, lang) == "1,000"
    assert format_number(1_234_567, lang) == "1,234,567"
    assert format_number(-12_345, lang) == "-12,345"


@pytest.mark.parametrize(
    ("n", "en", "zh"),
    [
        (0, "0", "0"),
        (999, "999", "999"),
        (1_000, "1K", "1,000"),
        (1_234, "1.2K", "1,234"),
        (9_999, "10K", "9,999"),
        (12_000, "12K", "1.2万"),
        (12_345, "12.3K", "1.2万"),
        (123_456, "123K", "12.3万"),
        (999_960, "1M", "100万"),
        (1_200_000, "1.2M", "120万"),
        (99_999_999, "100M", "1亿"),
        (120_000_000, "120M", "1.2亿"),
        (3_400_000_000, "3.4B", "34亿"),
        (-1_500, "-1.5K", "-1,500"),
    ],
)
def test_tokens_compact(n, en, zh):
    assert format_tokens(n, "en") == en
    assert format_tokens(n, "zh") == zh


MOMENT = datetime(2026, 11, 23, 14, 5, 9, tzinfo=UTC)


def test_datetime_forms_in_utc_are_labelled():
    assert format_datetime(MOMENT, "en") == "Nov 23, 2026, 14:05 UTC"
    assert format_datetime(MOMENT, "zh") == "2026年11月23日 14:05 UTC"
    # Stored datetimes may come back naive: they are UTC.
    assert format_datetime(MOMENT.replace(tzinfo=None), "zh") == "2026年11月23日 14:05 UTC"
    # Another zone's aware datetime is the same moment.
    beijing = MOMENT.astimezone(timezone(timedelta(hours=8)))
    assert format_datetime(beijing, "en") == "Nov 23, 2026, 14:05 UTC"
    assert format_datetime(None, "en") == ""


def test_datetime_in_the_browsers_offset():
    # Beijing (+480 min) crosses midnight; New York (-300) goes back a day.
    late = datetime(2026, 11, 23, 18, 30, tzinfo=UTC)
    assert format_datetime(late, "zh", 480) == "2026年11月24日 02:30"
    assert format_datetime(late, "en", 480) == "Nov 24, 2026, 02:30"
    early = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
    assert format_datetime(early, "en", -300) == "Dec 31, 2025, 21:00"
    assert format_datetime(early, "zh", -300) == "2025年12月31日 21:00"
    # Offset 0 is a browser in UTC: local time, no label.
    assert format_datetime(MOMENT, "en", 0) == "Nov 23, 2026, 14:05"
    assert format_datetime(MOMENT, "en", 330, seconds=True) == "Nov 23, 2026, 19:35:09"
    assert format_datetime(MOMENT, "zh", 0, seconds=True) == "2026年11月23日 14:05:09"


def test_dates():
    assert format_date(date(2026, 3, 5), "en") == "Mar 5, 2026"
    assert format_date(date(2026, 3, 5), "zh") == "2026年3月5日"
    late = datetime(2026, 11, 23, 18, 30, tzinfo=UTC)
    assert format_date(late, "zh", 480) == "2026年11月24日"
    assert format_date(late, "en") == "Nov 23, 2026 (UTC)"
    assert format_date(None, "zh") == ""
    assert format_date_range(date(2026, 3, 5), date(2026, 3, 5), "zh") == "2026年3月5日"
    assert (
        format_date_range(date(2025, 12, 30), date(2026, 1, 5), "en")
        == "Dec 30, 2025 – Jan 5, 2026"
    )


async def test_receipt_mail_uses_the_users_language():
    """The receipt's amounts and date follow the account's language (the Chinese mail says
    US$ and gives a Chinese date)."""
    from types import SimpleNamespace

    from aiusage.services import alerts

    sent: list[tuple[str, str, str]] = []

    async def enqueue(_session, to, subject, body):
        sent.append((to, subject, body))

    async def nothing(*_args, **_kwargs):
        return None

    entry = SimpleNamespace(
        id=7, amount_nano=1_234_500_000_000, balance_after_nano=1_300_005_000_000, created_at=MOMENT
    )
    user = SimpleNamespace(email="a@example.com", locale="zh")
    mp = pytest.MonkeyPatch()
    mp.setattr(alerts.email, "enqueue", enqueue)
    mp.setattr(alerts, "rearm_if_clear", nothing)
    try:
        await alerts.after_topup(None, user, entry, card_last4="4242", automatic=False)
        user.locale = "en"
        await alerts.after_topup(None, user, entry, card_last4="4242", automatic=False)
    finally:
        mp.undo()
    (_, zh_subject, zh_body), (_, en_subject, en_body) = sent
    assert "US$1,234.50" in zh_subject
    assert "US$1,300.01" in zh_body and "2026年11月23日 14:05 UTC" in zh_body
    assert "$1,234.50" in en_subject and "US$" not in en_subject
    assert "$1,300.01" in en_body and "Nov 23, 2026, 14:05 UTC" in en_body
