"""What a proxy key's owner can set on it, through the real app with the official `anthropic`
and `openai` SDKs as clients: allowed models (refused in each provider's own error shape,
and hidden from model lists), a spend budget per day, week or month that holds under
concurrent requests and restarts at the period's boundary, expiry, disabling, allowed
networks and a tokens-per-minute limit; and the service's checks of those settings."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from fnmatch import fnmatchcase
from typing import Any

import anthropic
import openai
import pytest
from sqlalchemy import update

from aiusage.config import get_settings
from aiusage.db import session_scope
from aiusage.models import Hold, ProxyKey
from aiusage.proxy.auth import KeyGrant
from aiusage.proxy.holds import Holds, HoldTicket, KeyLimitReached, now_ms
from aiusage.proxy.reclaim import interrupted
from aiusage.proxy.usage_writer import Settlement, UsageWriter
from aiusage.services import keys
from aiusage.services.errors import NotFound, ServiceError
from aiusage.services.pricing import Price
from tests.conftest import Account
from tests.fakes.upstream import FakeUpstream
from tests.helpers.pricing_check import cost_usd, platform_charge_nano
from tests.helpers.support import money_state, settled_money, usage_rows, wait_usage

MakeAccount = Callable[..., Awaitable[Account]]
SDKError = anthropic.APIStatusError | openai.APIStatusError

ANTHROPIC_KEY = "sk-ant-api03-" + "k" * 40 + "RuLe"
PATTERNS = "claude-haiku-*,gpt-4o-mini"
DOLLARS = 1_000_000_000  # nano-USD per USD
CENTS = DOLLARS // 100
ADJECTIVE = {"day": "daily", "week": "weekly", "month": "monthly"}


# --- helpers --------------------------------------------------------------------------------


def claude_sdk(app_url: str, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=key, base_url=f"{app_url}/api", max_retries=0, timeout=30)


def openai_sdk(app_url: str, key: str, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(
        api_key=key,
        base_url=f"{app_url}/api/v1",
        max_retries=0,
        timeout=30,
        default_headers=headers or None,
    )


def ask_claude(app_url: str, key: str, model: str = "claude-haiku-4-5") -> str:
    reply = claude_sdk(app_url, key).messages.create(
        model=model, max_tokens=50, messages=[{"role": "user", "content": "hi"}]
    )
    return reply.model


def ask_gpt(app_url: str, key: str, model: str = "gpt-4o-mini", **headers: str) -> str:
    reply = openai_sdk(app_url, key, **headers).chat.completions.create(
        model=model, max_tokens=50, messages=[{"role": "user", "content": "hi"}]
    )
    return reply.model


def message_of(error: SDKError) -> str:
    """The proxy's own message inside either provider's error body."""
    body = error.body
    assert isinstance(body, dict), body
    if isinstance(error, anthropic.APIStatusError):
        assert body["type"] == "error"
        body = body["error"]
    return str(body["message"])


def error_kind(error: SDKError) -> str:
    """Anthropic's error `type`, or OpenAI's error `code`."""
    body = error.body
    assert isinstance(body, dict), body
    if isinstance(error, anthropic.APIStatusError):
        return str(body["error"]["type"])
    return str(body["code"])


async def set_rules(account: Account, **rules: Any) -> None:
    """Changes the key's rules as the dashboard and the CLI do. A key the proxy has already
    seen needs `wait_key_cache()` afterwards; a fresh one is read on its first request."""
    async with session_scope() as session:
        await keys.update_proxy_key(session, account.id, account.key_id, **rules)


async def set_columns(key_id: int, **values: Any) -> None:
    """Writes key columns directly (what the service refuses, or what time would do)."""
    async with session_scope() as session:
        await session.execute(update(ProxyKey).where(ProxyKey.id == key_id).values(**values))


async def wait_key_cache() -> None:
    await asyncio.sleep(get_settings().key_cache_ttl + 0.3)


async def key_row(key_id: int) -> ProxyKey:
    async with session_scope() as session:
        key = await session.get(ProxyKey, key_id)
        assert key is not None
        return key


def start_of_next(period: str, now: datetime) -> datetime:
    """The next budget boundary after `now`, worked out here from the calendar: midnight UTC,
    Monday's midnight, the 1st's midnight."""
    today = now.astimezone(UTC).date()
    if period == "day":
        day = today + timedelta(days=1)
    elif period == "week":
        day = today + timedelta(days=7 - today.weekday())
    else:
        day = date(today.year + today.month // 12, today.month % 12 + 1, 1)
    return datetime.combine(day, time(), UTC)


def as_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def hold_ticket(account: Account, amount: int, name: str) -> HoldTicket:
    return HoldTicket(
        request_id=f"req_rules_{account.id}_{name}_{secrets.token_hex(4)}",
        user_id=account.id,
        key_id=account.key_id,
        amount_nano=amount,
        started_ms=now_ms(),
        provider="anthropic",
        endpoint="/v1/messages",
        model="claude-haiku-4-5",
        byok=False,
        request_bytes=400,
    )


def booking(ticket: HoldTicket, key_hold: int, charge: int) -> Settlement:
    """The settlement the request's owner would hand the writer, charging `charge`."""
    fields = {name: getattr(ticket, name) for name in ticket.__dataclass_fields__}
    del fields["key_id"]
    hold = Hold(
        **fields,
        proxy_key_id=ticket.key_id,
        key_amount_nano=key_hold,
        owner="",
        lease_until_ms=0,
    )
    settlement = interrupted(
        hold, Price(1_000_000, 5_000_000, 1_250_000, 2_000_000, 100_000), now_ms()
    )
    settlement.reclaimed = False
    settlement.charge_nano = settlement.usage["charged_nano"] = charge
    return settlement


async def book(*settlements: Settlement) -> None:
    writer = UsageWriter()
    writer.start()
    try:
        for settlement in settlements:
            writer.submit(settlement)
        await asyncio.wait_for(writer.flushed(), 15)
    finally:
        await asyncio.wait_for(writer.stop(), 15)


# --- allowed models -------------------------------------------------------------------------


async def test_models_outside_the_allow_list_are_refused_in_each_providers_shape(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account = await make_account(usd="1", provider_keys={"anthropic": ANTHROPIC_KEY})
    await set_rules(account, allowed_models=PATTERNS)
    named = "claude-haiku-*, gpt-4o-mini"

    with pytest.raises(anthropic.PermissionDeniedError) as claude_refused:
        ask_claude(app_url, account.proxy_key, "claude-sonnet-4-6")
    assert error_kind(claude_refused.value) == "permission_error"
    assert named in message_of(claude_refused.value)

    with pytest.raises(openai.PermissionDeniedError) as gpt_refused:
        ask_gpt(app_url, account.proxy_key, "gpt-4o")
    assert error_kind(gpt_refused.value) == "permission_denied"
    assert named in message_of(gpt_refused.value)

    # A Claude model on the Chat Completions route, and the Responses API: refused alike.
    with pytest.raises(openai.PermissionDeniedError) as translated_refused:
        ask_gpt(app_url, account.proxy_key, "claude-sonnet-4-5")
    assert named in message_of(translated_refused.value)
    with pytest.raises(openai.PermissionDeniedError) as responses_refused:
        openai_sdk(app_url, account.proxy_key).responses.create(model="gpt-4o", input="hi")
    assert named in message_of(responses_refused.value)

    assert fake.requests == []  # nothing refused was forwarded, held or charged
    assert await money_state(account.id) == (DOLLARS, 0, DOLLARS)

    assert ask_claude(app_url, account.proxy_key, "claude-haiku-4-5") == "claude-haiku-4-5"
    assert ask_gpt(app_url, account.proxy_key, "gpt-4o-mini") == "gpt-4o-mini"
    rows = await wait_usage(account.id, 2)
    assert sorted(row.model for row in rows) == ["claude-haiku-4-5", "gpt-4o-mini"]
    assert len(fake.requests) == 2
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == DOLLARS - sum(row.charged_nano for row in rows)


async def test_model_lists_show_only_the_allowed_models(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account = await make_account(usd="1", provider_keys={"anthropic": ANTHROPIC_KEY})
    unrestricted = await make_account(usd="1", provider_keys={"anthropic": ANTHROPIC_KEY})
    await set_rules(account, allowed_models=PATTERNS)
    patterns = PATTERNS.split(",")

    everything = {model.id for model in openai_sdk(app_url, unrestricted.proxy_key).models.list()}
    assert {"gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "claude-haiku-4-5"} <= everything

    # OpenAI's format: the upstream's models and the Claude models served translated.
    listed = [model.id for model in openai_sdk(app_url, account.proxy_key).models.list()]
    assert "gpt-4o-mini" in listed and "claude-haiku-4-5" in listed
    assert all(any(fnmatchcase(name, p) for p in patterns) for name in listed), listed
    assert len(listed) == len(set(listed))

    # Anthropic's format (the SDK sends x-api-key and anthropic-version).
    claude = [model.id for model in claude_sdk(app_url, account.proxy_key).models.list()]
    assert claude == ["claude-haiku-4-5-20251001"]

    assert await usage_rows(account.id) == []  # listing is not metered


# --- budgets --------------------------------------------------------------------------------

GPT_BODY_TOKENS = (50, 1000)  # what the fake reports: input, output (= max_tokens)


def gpt_charge() -> int:
    """One gpt-4o request on the platform key, as the fake answers it: list prices + 10 %."""
    return platform_charge_nano(cost_usd("gpt-4o", *GPT_BODY_TOKENS))


def set_gpt_usage(fake: FakeUpstream) -> None:
    fake.behavior.input_tokens, fake.behavior.output_tokens = GPT_BODY_TOKENS


async def ask_gpt_async(client: openai.AsyncOpenAI) -> Any:
    return await client.chat.completions.create(
        model="gpt-4o",
        max_tokens=GPT_BODY_TOKENS[1],
        messages=[{"role": "user", "content": "count"}],
    )


async def test_a_daily_budget_holds_under_20_concurrent_requests(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    budget = 5 * CENTS
    account = await make_account(usd="10")  # plenty of credit: only the budget binds
    await set_rules(account, budget_nano=budget, budget_period="day")
    set_gpt_usage(fake)
    fake.behavior.response_delay = 0.3  # the requests overlap
    charge = gpt_charge()  # $0.0111375; a request holds a little more (its body as input)
    tomorrow = start_of_next("day", datetime.now(UTC))

    client = openai.AsyncOpenAI(
        api_key=account.proxy_key, base_url=f"{app_url}/api/v1", max_retries=0, timeout=60
    )
    async with client:
        outcomes = await asyncio.gather(
            *[ask_gpt_async(client) for _ in range(20)], return_exceptions=True
        )

    refused = [o for o in outcomes if isinstance(o, openai.APIStatusError)]
    served = len(outcomes) - len(refused)
    assert all(
        not isinstance(o, BaseException) or isinstance(o, openai.APIStatusError) for o in outcomes
    ), outcomes
    # Four holds fit in $0.05; after four bookings what is left cannot hold a fifth.
    assert served == budget // charge == 4, outcomes
    for error in refused:
        assert error.status_code == 402 and error_kind(error) == "insufficient_quota"
        message = message_of(error)
        assert f"resets at {tomorrow:%Y-%m-%d} 00:00 UTC" in message, message
        retry = int(error.response.headers["retry-after"])
        if "taken by requests in flight" in message:  # worth a retry once they are booked
            assert message.startswith("This key's daily budget of $0.05 is taken"), message
            assert retry == 5
        else:  # spent: nothing to do before the reset
            assert "daily budget of $0.05 is used up" in message or (
                "daily budget of $0.05 has $0.01 left, less than this request may cost" in message
            ), message
            assert abs(retry - (tomorrow - datetime.now(UTC)).total_seconds()) < 120

    rows = await wait_usage(account.id, served)
    assert len(fake.requests) == served  # the refused ones were never forwarded
    charged = sum(row.charged_nano for row in rows)
    assert all(row.charged_nano == charge for row in rows)
    assert charged <= budget
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 10 * DOLLARS - charged
    key = await key_row(account.key_id)
    assert key.period_spent_nano == key.spent_nano == charged
    assert key.held_nano == 0
    assert key.period_start_ms == as_ms(tomorrow - timedelta(days=1))


@pytest.mark.parametrize("period", ["day", "week", "month"])
async def test_a_budget_restarts_at_the_period_boundary(
    app_server: Any, make_account: MakeAccount, period: str
) -> None:
    """In-process holds with an injected time, on the database the app runs on: the last
    second of the period, then the first second of the next."""
    budget = 5 * CENTS
    account = await make_account(usd="10")
    await set_rules(account, budget_nano=budget, budget_period=period)
    grant = KeyGrant(
        account.key_id, account.id, None, None, {}, budget_nano=budget, budget_period=period
    )
    boundary = start_of_next(period, datetime.now(UTC))
    assert boundary.time() == time() and boundary.tzinfo is UTC
    if period == "week":
        assert boundary.weekday() == 0  # Monday
    if period == "month":
        assert boundary.day == 1
    last_second = boundary - timedelta(seconds=1)
    after_boundary = start_of_next(period, boundary)
    small = 1 * CENTS

    holds = Holds()
    await holds.start()
    try:
        first = hold_ticket(account, budget, "fills")
        assert await holds.place(grant, first, now=last_second) == budget

        with pytest.raises(KeyLimitReached) as in_flight:
            await holds.place(grant, hold_ticket(account, small, "late"), now=last_second)
        assert in_flight.value.status == 402
        assert in_flight.value.message == (
            f"This key's {ADJECTIVE[period]} budget of $0.05 is taken by requests in flight;"
            f" it resets at {boundary:%Y-%m-%d} 00:00 UTC."
        )
        assert in_flight.value.retry_after == 5  # they are booked within seconds

        # Past the boundary, a request still in flight counts: it is booked in the new period.
        with pytest.raises(KeyLimitReached) as still_in_flight:
            await holds.place(grant, hold_ticket(account, small, "early"), now=boundary)
        assert "taken by requests in flight" in still_in_flight.value.message
        assert f"resets at {after_boundary:%Y-%m-%d} 00:00 UTC" in still_in_flight.value.message

        await book(booking(first, budget, budget))  # booked now, in the period it was held
        key = await key_row(account.key_id)
        assert (key.period_spent_nano, key.held_nano) == (budget, 0)

        with pytest.raises(KeyLimitReached) as used_up:
            await holds.place(grant, hold_ticket(account, small, "used-up"), now=last_second)
        assert f"budget of $0.05 is used up; it resets at {boundary:%Y-%m-%d}" in (
            used_up.value.message
        )

        next_period = hold_ticket(account, small, "next")
        assert await holds.place(grant, next_period, now=boundary) == small
        key = await key_row(account.key_id)
        assert key.period_start_ms == as_ms(boundary)
        assert (key.period_spent_nano, key.held_nano) == (0, small)
        await book(booking(next_period, small, small))
    finally:
        await holds.stop()

    key = await key_row(account.key_id)
    assert (key.period_spent_nano, key.held_nano, key.spent_nano) == (small, 0, budget + small)
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 10 * DOLLARS - budget - small


async def test_a_refusal_with_nothing_in_flight_does_not_blame_requests_in_flight(
    app_server: Any, make_account: MakeAccount
) -> None:
    budget = 5 * CENTS
    account = await make_account(usd="10")
    await set_rules(account, budget_nano=budget, budget_period="day")
    grant = KeyGrant(
        account.key_id, account.id, None, None, {}, budget_nano=budget, budget_period="day"
    )
    holds = Holds()
    await holds.start()
    try:
        spent = hold_ticket(account, 3 * CENTS, "spent")
        await book(booking(spent, await holds.place(grant, spent), 3 * CENTS))
        assert (await key_row(account.key_id)).held_nano == 0  # nothing in flight
        with pytest.raises(KeyLimitReached) as refused:  # $0.02 left, $0.03 asked
            await holds.place(grant, hold_ticket(account, 3 * CENTS, "more"))
    finally:
        await holds.stop()
    assert refused.value.message.startswith(
        "This key's daily budget of $0.05 has $0.02 left, less than this request may cost;"
    ), refused.value.message


async def test_a_refusal_by_the_spend_limit_names_the_spend_limit(
    app_server: Any, make_account: MakeAccount
) -> None:
    account = await make_account(usd="10")
    await set_rules(account, spend_limit_nano=5 * CENTS, budget_nano=DOLLARS, budget_period="day")
    grant = KeyGrant(
        account.key_id,
        account.id,
        None,
        5 * CENTS,
        {},
        budget_nano=DOLLARS,
        budget_period="day",
    )
    holds = Holds()
    await holds.start()
    try:
        spent = hold_ticket(account, 4 * CENTS, "spent")
        await book(booking(spent, await holds.place(grant, spent), 4 * CENTS))
        with pytest.raises(KeyLimitReached) as refused:  # $0.04 + $0.03 > the $0.05 limit
            await holds.place(grant, hold_ticket(account, 3 * CENTS, "more"))
    finally:
        await holds.stop()
    assert "spend limit" in refused.value.message, refused.value.message


async def test_a_new_period_restarts_the_spend_through_the_app(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    budget = 3 * CENTS
    account = await make_account(usd="10")
    await set_rules(account, budget_nano=budget, budget_period="day")
    set_gpt_usage(fake)
    charge = gpt_charge()
    client = openai_sdk(app_url, account.proxy_key)

    def ask() -> Any:
        return client.chat.completions.create(
            model="gpt-4o",
            max_tokens=GPT_BODY_TOKENS[1],
            messages=[{"role": "user", "content": "count"}],
        )

    ask()  # two fit in $0.03; a third's hold does not
    ask()
    await wait_usage(account.id, 2)
    await settled_money(account.id)
    key = await key_row(account.key_id)
    today = as_ms(start_of_next("day", datetime.now(UTC)) - timedelta(days=1))
    assert (key.period_spent_nano, key.period_start_ms, key.held_nano) == (2 * charge, today, 0)
    with pytest.raises(openai.APIStatusError) as refused:
        ask()
    assert refused.value.status_code == 402
    assert "daily budget of $0.03 has $0.01 left, less than this request may cost" in (
        message_of(refused.value)
    )
    assert len(fake.requests) == 2

    # Midnight passing, as the stored period sees it: its start is now yesterday's.
    await set_columns(account.key_id, period_start_ms=today - 86_400_000)
    ask()  # the key's rules are unchanged: no cache to wait out, the hold reads the row
    await wait_usage(account.id, 3)
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 10 * DOLLARS - 3 * charge
    key = await key_row(account.key_id)
    assert (key.period_spent_nano, key.period_start_ms) == (charge, today)
    assert (key.spent_nano, key.held_nano) == (3 * charge, 0)
    assert len(fake.requests) == 3


# --- expiry and disabling ---------------------------------------------------------------------


async def test_an_expired_key_is_refused_naming_the_date(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account = await make_account(usd="1", provider_keys={"anthropic": ANTHROPIC_KEY})
    past = datetime(2025, 6, 30, 12, 34, tzinfo=UTC)
    with pytest.raises(ServiceError) as refused:
        await set_rules(account, expires_at=past)
    assert refused.value.code == "bad_expiry"
    await set_rules(account, expires_at=datetime.now(UTC) + timedelta(hours=1))
    assert ask_gpt(app_url, account.proxy_key) == "gpt-4o-mini"  # not expired yet

    await set_columns(account.key_id, expires_at=past)  # as if that hour had passed
    await wait_key_cache()
    named = "expired on 2025-06-30 12:34 UTC"
    with pytest.raises(anthropic.AuthenticationError) as claude_refused:
        ask_claude(app_url, account.proxy_key)
    assert error_kind(claude_refused.value) == "authentication_error"
    assert named in message_of(claude_refused.value)
    with pytest.raises(openai.AuthenticationError) as gpt_refused:
        ask_gpt(app_url, account.proxy_key)
    assert error_kind(gpt_refused.value) == "invalid_api_key"
    assert named in message_of(gpt_refused.value)
    with pytest.raises(openai.AuthenticationError):
        openai_sdk(app_url, account.proxy_key).models.list()
    assert len(fake.requests) == 1
    assert len(await wait_usage(account.id, 1)) == 1


async def test_a_disabled_key_is_refused_until_enabled_again(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account = await make_account(usd="1", provider_keys={"anthropic": ANTHROPIC_KEY})
    async with session_scope() as session:
        await keys.set_key_enabled(session, account.id, account.key_id, False)
    with pytest.raises(anthropic.AuthenticationError) as claude_refused:
        ask_claude(app_url, account.proxy_key)
    assert "disabled" in message_of(claude_refused.value)
    with pytest.raises(openai.AuthenticationError) as gpt_refused:
        ask_gpt(app_url, account.proxy_key)
    assert "disabled" in message_of(gpt_refused.value)
    assert fake.requests == []
    assert (await key_row(account.key_id)).revoked_at is None  # nothing else changed

    async with session_scope() as session:
        await keys.set_key_enabled(session, account.id, account.key_id, True)
    await wait_key_cache()
    assert ask_claude(app_url, account.proxy_key) == "claude-haiku-4-5"
    assert ask_gpt(app_url, account.proxy_key) == "gpt-4o-mini"
    await wait_usage(account.id, 2)


# --- networks and tokens per minute -------------------------------------------------------------


async def test_a_key_works_only_from_its_networks(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    private = await make_account(usd="1", provider_keys={"anthropic": ANTHROPIC_KEY})
    loopback = await make_account(usd="1")
    await set_rules(private, allowed_networks="10.0.0.0/8, 2001:db8::/32")
    await set_rules(loopback, allowed_networks="127.0.0.0/8")

    with pytest.raises(openai.PermissionDeniedError) as gpt_refused:
        ask_gpt(app_url, private.proxy_key)  # from 127.0.0.1
    assert "network address" in message_of(gpt_refused.value)
    with pytest.raises(anthropic.PermissionDeniedError) as claude_refused:
        ask_claude(app_url, private.proxy_key)
    assert error_kind(claude_refused.value) == "permission_error"
    assert fake.requests == []

    assert ask_gpt(app_url, loopback.proxy_key) == "gpt-4o-mini"
    # Behind the operator's proxy (127.0.0.1 is trusted in the tests), the forwarded address
    # counts: a client on 10.x is let through.
    assert ask_gpt(app_url, private.proxy_key, **{"X-Forwarded-For": "10.1.2.3"}) == "gpt-4o-mini"
    with pytest.raises(openai.PermissionDeniedError):
        ask_gpt(app_url, private.proxy_key, **{"X-Forwarded-For": "192.168.1.9"})
    assert len(fake.requests) == 2


async def test_tokens_per_minute_limit(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account = await make_account(usd="1", provider_keys={"anthropic": ANTHROPIC_KEY})
    await set_rules(account, tpm_limit=50)
    fake.behavior.input_tokens, fake.behavior.output_tokens = 40, 20

    assert ask_gpt(app_url, account.proxy_key) == "gpt-4o-mini"  # 0 used so far: let through
    (row,) = await wait_usage(account.id, 1)  # settled: its 60 tokens are counted
    assert (row.input_tokens, row.output_tokens) == (40, 20)
    assert row.charged_nano == platform_charge_nano(cost_usd("gpt-4o-mini", 40, 20))

    with pytest.raises(openai.RateLimitError) as gpt_limited:
        ask_gpt(app_url, account.proxy_key)
    assert "50 tokens per minute" in message_of(gpt_limited.value)
    assert 0 < int(gpt_limited.value.response.headers["retry-after"]) <= 60
    with pytest.raises(anthropic.RateLimitError) as claude_limited:
        ask_claude(app_url, account.proxy_key)
    assert error_kind(claude_limited.value) == "rate_limit_error"
    assert 0 < int(claude_limited.value.response.headers["retry-after"]) <= 60
    assert len(fake.requests) == 1
    assert len(await usage_rows(account.id)) == 1


# --- the service's checks ---------------------------------------------------------------------

FIFTY_ONE = ",".join(f"model-{n}" for n in range(51))


@pytest.mark.parametrize(
    ("rules", "code"),
    [
        ({"allowed_models": "[abc]"}, "bad_models"),
        ({"allowed_models": "gpt-4o, claude-?"}, "bad_models"),
        ({"allowed_models": FIFTY_ONE}, "bad_models"),
        ({"allowed_models": "m" * 101}, "bad_models"),
        ({"allowed_networks": "10.0.0.0/33"}, "bad_networks"),
        ({"allowed_networks": "10.0.0.0/8, office"}, "bad_networks"),
        ({"allowed_networks": "300.1.2.3"}, "bad_networks"),
        ({"budget_period": "year"}, "bad_period"),
        ({"budget_nano": 0}, "bad_limit"),
        ({"budget_nano": -5}, "bad_limit"),
        ({"spend_limit_nano": 0}, "bad_limit"),
        ({"rpm_limit": 0}, "bad_limit"),
        ({"rpm_limit": 100_001}, "bad_limit"),
        ({"tpm_limit": -1}, "bad_limit"),
        ({"tpm_limit": 10**9 + 1}, "bad_limit"),
        ({"expires_at": datetime(2020, 1, 1, tzinfo=UTC)}, "bad_expiry"),
        ({"expires_at": datetime(2999, 1, 1)}, "bad_expiry"),  # naive: no time zone
        ({"colour": "red"}, "bad_rule"),
    ],
)
def test_bad_rules_are_refused(rules: dict[str, Any], code: str) -> None:
    with pytest.raises(ServiceError) as refused:
        keys.checked_rules(rules)
    assert refused.value.code == code and refused.value.message


def test_rules_are_normalised() -> None:
    checked = keys.checked_rules(
        {
            "allowed_models": " claude-haiku-* , gpt-4o-mini,claude-haiku-*,, ",
            "allowed_networks": "10.1.2.3/8, 192.0.2.7, 2001:db8::1/32",
            "budget_period": "",
            "tpm_limit": 50,
        }
    )
    assert checked == {
        "allowed_models": "claude-haiku-*,gpt-4o-mini",
        "allowed_networks": "10.0.0.0/8,192.0.2.7/32,2001:db8::/32",
        "budget_period": None,
        "tpm_limit": 50,
    }
    fifty = ",".join(f"model-{n}" for n in range(50))
    assert keys.checked_rules({"allowed_models": fifty})["allowed_models"] == fifty
    assert keys.checked_rules({"allowed_models": "", "allowed_networks": " "}) == {
        "allowed_models": None,
        "allowed_networks": None,
    }


async def test_the_service_refuses_half_budgets_and_other_users_keys(
    make_account: MakeAccount,
) -> None:
    owner, other = await make_account(usd="1"), await make_account(usd="1")
    async with session_scope() as session:
        with pytest.raises(ServiceError) as no_period:
            await keys.create_proxy_key(session, owner.id, "half", budget_nano=CENTS)
        assert no_period.value.code == "bad_budget"
        with pytest.raises(ServiceError) as no_amount:
            await keys.create_proxy_key(session, owner.id, "half", budget_period="week")
        assert no_amount.value.code == "bad_budget"
    for rules in ({"budget_nano": CENTS}, {"budget_period": "month"}):
        with pytest.raises(ServiceError) as half:
            await set_rules(owner, **rules)
        assert half.value.code == "bad_budget"
    await set_rules(owner, budget_nano=CENTS, budget_period="month")
    with pytest.raises(ServiceError) as clearing_half:
        await set_rules(owner, budget_period=None)
    assert clearing_half.value.code == "bad_budget"
    await set_rules(owner, budget_nano=None, budget_period=None)  # both cleared: fine

    with pytest.raises(NotFound):
        async with session_scope() as session:
            await keys.update_proxy_key(session, other.id, owner.key_id, allowed_models="gpt-*")
    with pytest.raises(NotFound):
        async with session_scope() as session:
            await keys.set_key_enabled(session, other.id, owner.key_id, False)
    key = await key_row(owner.key_id)
    assert (key.allowed_models, key.disabled_at, key.budget_nano) == (None, None, None)

    async with session_scope() as session:
        await keys.revoke_proxy_key(session, owner.id, owner.key_id)
    with pytest.raises(NotFound):
        await set_rules(owner, tpm_limit=10)
    with pytest.raises(NotFound):
        async with session_scope() as session:
            await keys.set_key_enabled(session, owner.id, owner.key_id, True)
