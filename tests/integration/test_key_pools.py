"""Provider key pools through the real app, with the official `anthropic` and `openai` SDKs as
clients (no SDK retries) and the fake upstream answering per upstream key: a request that a
pool key cannot serve (401, 429, 529, 5xx) is served by the next key and booked once, naming
the key that answered; what the proxy learns (refused, cooling down) shows in the service's
listing and changes the order keys are tried in; weights share traffic among equal
priorities; spend per provider key; and the operator CLI (`aiusage provider-key add/list`)."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import anthropic
import openai
import pytest
from sqlalchemy import update

from aiusage.config import get_settings
from aiusage.db import session_scope
from aiusage.models import ProviderKey, UsageRecord, utcnow
from aiusage.services import keys, usage_breakdown
from aiusage.services.keys import ProviderKeyInfo
from tests.conftest import Account
from tests.fakes.upstream import FakeUpstream, RecordedRequest
from tests.helpers.pricing_check import byok_charge_nano, cost_usd, platform_charge_nano
from tests.helpers.support import money_state, settled_money, usage_rows, wait_usage
from tests.integration.test_cli import run

MakeAccount = Callable[..., Awaitable[Account]]

DOLLARS = 1_000_000_000  # nano-USD per USD
CLAUDE = "claude-haiku-4-5"
MESSAGES = [{"role": "user", "content": "hi"}]
# What the fake reports by default: 25 input and 12 output tokens.
CLAUDE_CHARGE = byok_charge_nano(cost_usd(CLAUDE, 25, 12))
CHAT_CHARGE = byok_charge_nano(cost_usd("gpt-4o-mini", 25, 12))
RESPONSES_CHARGE = byok_charge_nano(cost_usd("gpt-4o", 25, 12))
PLATFORM_CHAT_CHARGE = platform_charge_nano(cost_usd("gpt-4o-mini", 25, 12))


# --- helpers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolEntry:
    """One stored pool key, with the secret the fake sees."""

    id: int
    secret: str
    label: str

    @property
    def last4(self) -> str:
        return self.secret[-4:]


def new_secret(provider: str) -> str:
    prefix = "sk-ant-api03-" if provider == "anthropic" else "sk-proj-"
    return prefix + secrets.token_hex(20)


async def add_key(
    account: Account, provider: str, label: str, *, priority: int = 1, weight: int = 1
) -> PoolEntry:
    secret = new_secret(provider)
    async with session_scope() as session:
        info = await keys.add_provider_key(
            session, account.id, provider, secret, label=label, priority=priority, weight=weight
        )
    assert info.last4 == secret[-4:]
    return PoolEntry(info.id, secret, label)


async def pool_of_two(
    make_account: MakeAccount, provider: str = "anthropic"
) -> tuple[Account, PoolEntry, PoolEntry]:
    """An account with 10 USD and two keys: "main" (priority 1), "backup" (priority 2)."""
    account = await make_account(usd="10")
    main = await add_key(account, provider, "main", priority=1)
    backup = await add_key(account, provider, "backup", priority=2)
    return account, main, backup


def claude(app_url: str, account: Account) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key=account.proxy_key, base_url=f"{app_url}/api", max_retries=0, timeout=30
    )


def gpt(app_url: str, account: Account) -> openai.OpenAI:
    return openai.OpenAI(
        api_key=account.proxy_key, base_url=f"{app_url}/api/v1", max_retries=0, timeout=30
    )


def ask_claude(app_url: str, account: Account, *, stream: bool = False) -> str:
    sdk = claude(app_url, account)
    if stream:
        with sdk.messages.stream(model=CLAUDE, max_tokens=50, messages=MESSAGES) as events:
            return "".join(events.text_stream)
    reply = sdk.messages.create(model=CLAUDE, max_tokens=50, messages=MESSAGES)
    return "".join(block.text for block in reply.content if block.type == "text")


def ask_chat(app_url: str, account: Account, *, stream: bool = False) -> str:
    sdk = gpt(app_url, account)
    if stream:
        chunks = sdk.chat.completions.create(
            model="gpt-4o-mini", max_tokens=50, messages=MESSAGES, stream=True
        )
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reply = sdk.chat.completions.create(model="gpt-4o-mini", max_tokens=50, messages=MESSAGES)
    return reply.choices[0].message.content or ""


def ask_responses(app_url: str, account: Account, *, stream: bool = False) -> str:
    sdk = gpt(app_url, account)
    if stream:
        events = sdk.responses.create(model="gpt-4o", input="hi", stream=True)
        return "".join(e.delta for e in events if e.type == "response.output_text.delta")
    return sdk.responses.create(model="gpt-4o", input="hi").output_text


def keys_sent(requests: list[RecordedRequest]) -> list[str]:
    """The upstream key of each request the fake got, in order."""
    return [
        r.headers.get("x-api-key") or r.headers["authorization"].removeprefix("Bearer ")
        for r in requests
    ]


def error_of(error: anthropic.APIStatusError | openai.APIStatusError) -> dict[str, object]:
    """The error object of either provider's error body."""
    body = error.body
    assert isinstance(body, dict), body
    if isinstance(error, anthropic.APIStatusError):
        assert body["type"] == "error"
        body = body["error"]
    assert isinstance(body, dict), body
    return body


async def listing(account: Account) -> dict[int, ProviderKeyInfo]:
    async with session_scope() as session:
        return {k.id: k for k in await keys.list_provider_keys(session, account.id)}


async def wait_state(
    account: Account, key: PoolEntry, state: str, timeout: float = 10
) -> ProviderKeyInfo:
    """The key as listed once the proxy's health write shows `state` (it is written off
    the response path)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        info = (await listing(account))[key.id]
        if info.state == state:
            return info
        assert asyncio.get_running_loop().time() < deadline, f"{key.label} is {info.state}"
        await asyncio.sleep(0.05)


async def wait_failures(key: PoolEntry, count: int, timeout: float = 10) -> int:
    """The key's stored failure count once at least `count` failures are written."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with session_scope() as session:
            row = await session.get(ProviderKey, key.id)
            assert row is not None
            if row.failures >= count or asyncio.get_running_loop().time() > deadline:
                return row.failures
        await asyncio.sleep(0.05)


async def wait_key_cache() -> None:
    """Long enough for the proxy to read the pool again."""
    await asyncio.sleep(get_settings().key_cache_ttl + 0.3)


def assert_served_by(row: UsageRecord, key: PoolEntry, charge: int) -> None:
    assert row.status == 200 and row.error_type is None
    assert row.key_source == "byok"
    assert (row.provider_key_id, row.provider_key_last4, row.provider_key_label) == (
        key.id,
        key.last4,
        key.label,
    )
    assert row.charged_nano == charge


async def assert_charged_exactly(account: Account, total: int) -> None:
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 10 * DOLLARS - total


# --- the next key serves what one key cannot ------------------------------------------------


@pytest.mark.parametrize("status", [429, 529, 500])
async def test_a_failing_key_is_passed_over_for_the_next_and_booked_once(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount, status: int
) -> None:
    account, main, backup = await pool_of_two(make_account)
    fake.behavior.key_statuses = {main.secret: status}

    assert ask_claude(app_url, account) == fake.behavior.reply_text
    assert keys_sent(fake.requests) == [main.secret, backup.secret]
    assert ask_claude(app_url, account, stream=True) == fake.behavior.reply_text
    assert keys_sent(fake.requests) == [main.secret, backup.secret] * 2

    rows = await wait_usage(account.id, 2)  # one row per request, not per attempt
    for row, streamed in zip(rows, (False, True), strict=True):
        assert_served_by(row, backup, CLAUDE_CHARGE)
        assert row.streamed is streamed
        assert (row.input_tokens, row.output_tokens) == (25, 12)
    await assert_charged_exactly(account, 2 * CLAUDE_CHARGE)

    assert await wait_failures(main, 2) == 2  # two failures, not yet three: not cooling
    listed = await listing(account)
    assert (listed[main.id].state, listed[main.id].last_error) == ("ok", f"HTTP {status}")
    assert listed[backup.id].state == "ok" and listed[backup.id].last_error is None


async def test_a_key_the_provider_refuses_is_marked_invalid_and_not_tried_again(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account, main, backup = await pool_of_two(make_account)
    fake.behavior.key_statuses = {main.secret: 401}

    assert ask_claude(app_url, account) == fake.behavior.reply_text
    assert keys_sent(fake.requests) == [main.secret, backup.secret]
    refused = await wait_state(account, main, "invalid")
    assert refused.last_error == "HTTP 401"
    assert (await listing(account))[backup.id].state == "ok"

    # At once in this process, and from the database once the pool is read again.
    fake.requests.clear()
    assert ask_claude(app_url, account, stream=True) == fake.behavior.reply_text
    await wait_key_cache()
    assert ask_claude(app_url, account) == fake.behavior.reply_text
    assert keys_sent(fake.requests) == [backup.secret, backup.secret]

    rows = await wait_usage(account.id, 3)
    for row in rows:
        assert_served_by(row, backup, CLAUDE_CHARGE)
    await assert_charged_exactly(account, 3 * CLAUDE_CHARGE)


async def test_a_replaced_refused_key_is_ok_and_tried_first_again(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account, main, backup = await pool_of_two(make_account)
    fake.behavior.key_statuses = {main.secret: 401}
    assert ask_claude(app_url, account) == fake.behavior.reply_text
    await wait_state(account, main, "invalid")

    replacement = new_secret("anthropic")
    async with session_scope() as session:
        info = await keys.update_provider_key(session, account.id, main.id, plaintext=replacement)
    assert (info.state, info.last_error, info.last4) == ("ok", None, replacement[-4:])
    renewed = PoolEntry(main.id, replacement, "main")
    await wait_key_cache()

    fake.requests.clear()
    assert ask_claude(app_url, account) == fake.behavior.reply_text
    assert keys_sent(fake.requests) == [replacement]  # the first key again, and only it
    rows = await wait_usage(account.id, 2)
    assert_served_by(rows[0], backup, CLAUDE_CHARGE)
    assert_served_by(rows[1], renewed, CLAUDE_CHARGE)
    assert (await listing(account))[main.id].state == "ok"


async def test_a_single_refused_key_works_again_once_its_owner_replaces_it(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    """The one-key account (`provider-key set`, the dashboard's replace): refused, then 403
    until its owner stores a new key; then served again."""
    old = new_secret("anthropic")
    account = await make_account(usd="10", provider_keys={"anthropic": old})
    fake.behavior.key_statuses = {old: 401}
    with pytest.raises(anthropic.AuthenticationError):
        ask_claude(app_url, account)
    with pytest.raises(anthropic.PermissionDeniedError):
        ask_claude(app_url, account)
    (only,) = (await listing(account)).values()
    await wait_state(account, PoolEntry(only.id, old, ""), "invalid")

    replacement = new_secret("anthropic")
    async with session_scope() as session:
        info = await keys.set_provider_key(session, account.id, "anthropic", replacement)
    assert (info.id, info.state) == (only.id, "ok")
    await wait_key_cache()
    fake.requests.clear()
    assert ask_claude(app_url, account) == fake.behavior.reply_text
    assert keys_sent(fake.requests) == [replacement]


async def test_three_failures_in_a_row_cool_a_key_down_and_it_goes_last(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account, main, backup = await pool_of_two(make_account)
    fake.behavior.key_statuses = {main.secret: 429}
    started = datetime.now(UTC)

    for _ in range(3):
        assert ask_claude(app_url, account) == fake.behavior.reply_text
    assert keys_sent(fake.requests) == [main.secret, backup.secret] * 3
    cooling = await wait_state(account, main, "cooling")
    assert cooling.last_error == "HTTP 429"
    assert cooling.unhealthy_until is not None
    cooldown = timedelta(seconds=get_settings().provider_key_cooldown_seconds)
    assert started + cooldown - timedelta(seconds=5) < cooling.unhealthy_until
    assert cooling.unhealthy_until <= datetime.now(UTC) + cooldown

    # While it cools down the backup goes first, even once main would answer again.
    fake.behavior.key_statuses = {}
    await wait_key_cache()
    fake.requests.clear()
    assert ask_claude(app_url, account) == fake.behavior.reply_text
    assert ask_claude(app_url, account, stream=True) == fake.behavior.reply_text
    assert keys_sent(fake.requests) == [backup.secret, backup.secret]

    # A cooling key is still tried, last, when every other key fails.
    fake.behavior.key_statuses = {backup.secret: 529}
    fake.requests.clear()
    assert ask_claude(app_url, account) == fake.behavior.reply_text
    assert keys_sent(fake.requests) == [backup.secret, main.secret]

    rows = await wait_usage(account.id, 6)
    for row in rows[:5]:
        assert_served_by(row, backup, CLAUDE_CHARGE)
    assert_served_by(rows[5], main, CLAUDE_CHARGE)
    await assert_charged_exactly(account, 6 * CLAUDE_CHARGE)


async def test_a_key_cools_down_in_this_process_as_soon_as_it_failed_three_times(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    """The pool's promise: what is learned counts at once in the process that learned it,
    not only once the pool is read again from the database."""
    account, main, backup = await pool_of_two(make_account)
    fake.behavior.key_statuses = {main.secret: 429}
    for _ in range(3):  # well within one key-cache period
        assert ask_claude(app_url, account) == fake.behavior.reply_text
    fake.requests.clear()
    assert ask_claude(app_url, account) == fake.behavior.reply_text
    assert keys_sent(fake.requests) == [backup.secret]


async def test_failures_between_successes_do_not_cool_a_key_down(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    """Only consecutive failures count: a key that answers resets its count."""
    account, main, backup = await pool_of_two(make_account)
    for _ in range(3):
        fake.behavior.key_statuses = {main.secret: 429}
        assert ask_claude(app_url, account) == fake.behavior.reply_text
        fake.behavior.key_statuses = {}
        assert ask_claude(app_url, account) == fake.behavior.reply_text
    assert keys_sent(fake.requests) == [main.secret, backup.secret, main.secret] * 3
    await wait_usage(account.id, 6)
    await asyncio.sleep(0.5)  # the health writes land off the response path
    assert (await listing(account))[main.id].state == "ok"


async def test_when_every_key_fails_the_client_gets_the_last_answer_uncharged(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account, main, backup = await pool_of_two(make_account)
    fake.behavior.key_statuses = {main.secret: 429, backup.secret: 429}
    fake.behavior.error_message = "rate limited upstream"

    with pytest.raises(anthropic.RateLimitError) as limited:
        ask_claude(app_url, account)
    expected = {"type": "rate_limit_error", "message": "rate limited upstream"}
    assert error_of(limited.value) == expected
    assert keys_sent(fake.requests) == [main.secret, backup.secret]

    (row,) = await wait_usage(account.id, 1)
    assert row.status == 429 and row.charged_nano == 0 and row.cost_nano == 0
    assert (row.provider_key_id, row.provider_key_label) == (backup.id, "backup")
    assert await money_state(account.id) == (10 * DOLLARS, 0, 10 * DOLLARS)  # no hold left


# --- OpenAI pools ---------------------------------------------------------------------------


async def test_openai_pools_fall_over_on_chat_completions_and_the_responses_api(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account, main, backup = await pool_of_two(make_account, "openai")
    text = fake.behavior.reply_text

    fake.behavior.key_statuses = {main.secret: 429}
    assert ask_chat(app_url, account) == text
    assert ask_chat(app_url, account, stream=True) == text
    fake.behavior.key_statuses = {main.secret: 503}
    assert ask_responses(app_url, account) == text
    assert ask_responses(app_url, account, stream=True) == text
    # Main failed three times in a row by the fourth request: cooling, it is tried last.
    assert keys_sent(fake.requests) == [main.secret, backup.secret] * 3 + [backup.secret]
    paths = [r.path for r in fake.requests]
    assert paths == ["/v1/chat/completions"] * 4 + ["/v1/responses"] * 3

    rows = await wait_usage(account.id, 4)
    assert [(r.endpoint, r.streamed) for r in rows] == [
        ("/v1/chat/completions", False),
        ("/v1/chat/completions", True),
        ("/v1/responses", False),
        ("/v1/responses", True),
    ]
    for row, charge in zip(rows, [CHAT_CHARGE] * 2 + [RESPONSES_CHARGE] * 2, strict=True):
        assert_served_by(row, backup, charge)
    await assert_charged_exactly(account, 2 * CHAT_CHARGE + 2 * RESPONSES_CHARGE)

    # Both keys at their limit: the last key's answer, in OpenAI's shape, charged nothing.
    fake.behavior.key_statuses = {main.secret: 429, backup.secret: 429}
    fake.requests.clear()
    with pytest.raises(openai.RateLimitError) as limited:
        ask_responses(app_url, account)
    assert error_of(limited.value)["code"] == "rate_limit_exceeded"
    assert keys_sent(fake.requests) == [backup.secret, main.secret]  # main still cooling
    last = (await wait_usage(account.id, 5))[-1]
    assert (last.status, last.charged_nano, last.provider_key_id) == (429, 0, main.id)
    await assert_charged_exactly(account, 2 * CHAT_CHARGE + 2 * RESPONSES_CHARGE)


async def test_an_openai_key_refused_with_401_is_passed_over_on_chat_completions(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account, main, backup = await pool_of_two(make_account, "openai")
    fake.behavior.key_statuses = {main.secret: 401}
    assert ask_chat(app_url, account) == fake.behavior.reply_text
    assert ask_chat(app_url, account) == fake.behavior.reply_text
    assert keys_sent(fake.requests) == [main.secret, backup.secret, backup.secret]
    refused = await wait_state(account, main, "invalid")
    assert refused.last_error == "HTTP 401"
    for row in await wait_usage(account.id, 2):
        assert_served_by(row, backup, CHAT_CHARGE)


# --- weights, and a pool the provider refused entirely --------------------------------------


async def test_weights_share_the_traffic_among_keys_of_equal_priority(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account = await make_account(usd="10")
    light = await add_key(account, "anthropic", "light", priority=1, weight=1)
    heavy = await add_key(account, "anthropic", "heavy", priority=1, weight=3)
    requests = 60
    for _ in range(requests):
        assert ask_claude(app_url, account) == fake.behavior.reply_text

    served = Counter(keys_sent(fake.requests))
    assert sum(served.values()) == requests  # every request on its first key
    # A weight of 3 against 1 serves about 3 in 4: > 1/2 fails by chance about once in 10^5.
    assert served[heavy.secret] > requests // 2, served
    assert served[light.secret] >= 1, served
    rows = await wait_usage(account.id, requests)
    by_key = Counter(row.provider_key_id for row in rows)
    assert by_key == {heavy.id: served[heavy.secret], light.id: served[light.secret]}


async def test_a_pool_the_provider_refused_entirely_is_a_403_and_nothing_is_forwarded(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account, main, backup = await pool_of_two(make_account)
    fake.behavior.key_statuses = {main.secret: 401, backup.secret: 401}
    with pytest.raises(anthropic.AuthenticationError):  # the last key's own answer
        ask_claude(app_url, account)
    assert keys_sent(fake.requests) == [main.secret, backup.secret]
    await wait_state(account, backup, "invalid")
    (first,) = await wait_usage(account.id, 1)
    assert (first.status, first.charged_nano, first.provider_key_id) == (401, 0, backup.id)

    fake.requests.clear()
    for stream in (False, True):
        with pytest.raises(anthropic.PermissionDeniedError) as refused:
            ask_claude(app_url, account, stream=stream)
        error = error_of(refused.value)
        assert error["type"] == "permission_error"
        assert "refused every Anthropic key" in str(error["message"])
    assert fake.requests == []
    assert len(await usage_rows(account.id)) == 1  # refused before anything was held
    assert await money_state(account.id) == (10 * DOLLARS, 0, 10 * DOLLARS)

    # OpenAI: a pool marked refused in the database (what another instance learned).
    gpt_account, gpt_main, gpt_backup = await pool_of_two(make_account, "openai")
    async with session_scope() as session:
        await session.execute(
            update(ProviderKey)
            .where(ProviderKey.id.in_([gpt_main.id, gpt_backup.id]))
            .values(invalid_at=utcnow(), last_error="HTTP 401")
        )
    with pytest.raises(openai.PermissionDeniedError) as gpt_refused:
        ask_chat(app_url, gpt_account)
    assert error_of(gpt_refused.value)["code"] == "permission_denied"
    assert "refused every OpenAI key" in str(error_of(gpt_refused.value)["message"])
    assert fake.requests == []
    assert await usage_rows(gpt_account.id) == []
    assert await money_state(gpt_account.id) == (10 * DOLLARS, 0, 10 * DOLLARS)


# --- spend per provider key -----------------------------------------------------------------


async def test_spend_by_provider_key_matches_the_usage_rows(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    account, main, backup = await pool_of_two(make_account)
    fake.behavior.key_statuses = {main.secret: 429}
    ask_claude(app_url, account)  # backup
    fake.behavior.key_statuses = {}
    ask_claude(app_url, account)  # main
    ask_claude(app_url, account, stream=True)  # main
    fake.behavior.key_statuses = {main.secret: 429, backup.secret: 429}
    with pytest.raises(anthropic.RateLimitError):
        ask_claude(app_url, account)  # backup's 429, uncharged
    fake.behavior.key_statuses = {}
    ask_chat(app_url, account)  # no OpenAI key of its own: the platform's
    rows = await wait_usage(account.id, 5)

    async with session_scope() as session:
        spends = await usage_breakdown.spend_by_provider_key(session, account.id, since)
    by_key = {(s.provider, s.key_id): s for s in spends}
    assert set(by_key) == {("anthropic", main.id), ("anthropic", backup.id), ("openai", None)}
    for (_, key_id), spend in by_key.items():
        mine = [r for r in rows if r.provider_key_id == key_id]
        assert spend.requests == len(mine)
        assert spend.charged_nano == sum(r.charged_nano for r in mine)
        assert spend.cost_nano == sum(r.cost_nano for r in mine)
    assert (by_key["anthropic", main.id].requests, by_key["anthropic", backup.id].requests) == (
        2,
        2,
    )
    assert by_key["anthropic", main.id].charged_nano == 2 * CLAUDE_CHARGE
    assert by_key["anthropic", backup.id].charged_nano == CLAUDE_CHARGE
    assert (by_key["anthropic", main.id].last4, by_key["anthropic", main.id].label) == (
        main.last4,
        "main",
    )
    platform = by_key["openai", None]
    assert (platform.last4, platform.label, platform.requests) == (None, None, 1)
    assert platform.charged_nano == PLATFORM_CHAT_CHARGE
    assert [s.cost_nano for s in spends] == sorted((s.cost_nano for s in spends), reverse=True)
    await assert_charged_exactly(account, 3 * CLAUDE_CHARGE + PLATFORM_CHAT_CHARGE)

    async with session_scope() as session:  # nothing before `since`
        later = await usage_breakdown.spend_by_provider_key(
            session, account.id, datetime.now(UTC) + timedelta(minutes=1)
        )
    assert later == []


# --- the operator CLI -----------------------------------------------------------------------


async def test_cli_adds_checked_keys_to_a_pool_and_lists_them_without_secrets(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account = await make_account(usd="10")
    main, backup, refused, unchecked = (new_secret("anthropic") for _ in range(4))
    fake.behavior.key_statuses = {refused: 401}
    outputs: list[str] = []

    def add(secret: str, *options: str) -> subprocess.CompletedProcess:
        done = run(
            "provider-key",
            "add",
            "--email",
            account.email,
            "--provider",
            "anthropic",
            *options,
            stdin=secret + "\n",
        )
        outputs.append(done.stdout + done.stderr)
        return done

    def listed() -> list[dict[str, object]]:
        done = run("provider-key", "list", "--email", account.email)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout + done.stderr)
        parsed = json.loads(done.stdout)
        assert isinstance(parsed, list)
        return parsed

    first = add(backup, "--label", "backup", "--priority", "2", "--weight", "3")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"anthropic key ending in {backup[-4:]} added (id ")
    assert first.stdout.rstrip().endswith("priority 2)")
    second = add(main, "--label", "main", "--priority", "1")
    assert second.returncode == 0, second.stderr
    # Each was checked with the provider first: one model list per key.
    checks = [r for r in fake.requests if r.path == "/v1/models"]
    assert [(r.method, r.headers["x-api-key"]) for r in checks] == [("GET", backup), ("GET", main)]

    rejected = add(refused, "--label", "dead")
    assert rejected.returncode == 1
    assert rejected.stderr.strip() == "aiusage: anthropic refused this key (HTTP 401)."
    assert rejected.stdout == ""

    expected = [
        {"provider": "anthropic", "label": "main", "last4": main[-4:], "priority": 1, "weight": 1},
        {
            "provider": "anthropic",
            "label": "backup",
            "last4": backup[-4:],
            "priority": 2,
            "weight": 3,
        },
    ]
    shown = listed()
    assert [{k: v for k, v in e.items() if k in expected[0]} for e in shown] == expected
    assert [(e["state"], e["last_error"]) for e in shown] == [("ok", None), ("ok", None)]
    assert all(isinstance(e["id"], int) for e in shown)

    # The states the proxy learns show in the listing: main refused, so the backup serves.
    fake.behavior.key_statuses = {main: 401}
    assert ask_claude(app_url, account) == fake.behavior.reply_text
    main_id = int(str(shown[0]["id"]))
    await wait_state(account, PoolEntry(main_id, main, "main"), "invalid")
    assert [(e["label"], e["state"], e["last_error"]) for e in listed()] == [
        ("main", "invalid", "HTTP 401"),
        ("backup", "ok", None),
    ]

    # A provider that cannot be reached says nothing about the key: stored, with a word.
    fake.behavior.status = 503
    third = add(unchecked, "--label", "unchecked")
    assert third.returncode == 0, third.stderr
    assert "could not check the key with anthropic; storing it anyway" in third.stdout
    assert [e["label"] for e in listed()] == ["main", "backup", "unchecked"]

    for secret in (main, backup, refused, unchecked):
        assert all(secret not in output for output in outputs)
