"""Several proxy instances sharing one Redis (`AIUSAGE_REDIS_URL`): a key's rpm limit holds
across them, a revoked key is refused by the other instances within 100 ms (not after the key
cache's lifetime), and when Redis goes away the proxies keep serving with per-process limits,
say so once, and share again when it is back.

The instances are standalone proxies (`aiusage proxy serve`) on the tests' database, with a
key cache of 60 s so that only the announcement can explain a refusal; this test process acts
as the dashboard's instance making the change (the same services and `session_scope`)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import RUN_DIR, TEST_ENV
from tests.helpers.redis_server import redis_installed
from tests.helpers.support import free_port, start_standalone_proxy

pytestmark = pytest.mark.skipif(not redis_installed(), reason="redis-server is not installed")

ANTHROPIC_KEY = "sk-ant-api03-" + "s" * 40 + "ShRd"
BODY = {
    "model": "claude-haiku-4-5",
    "max_tokens": 20,
    "messages": [{"role": "user", "content": "hi"}],
}


class Instance:
    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.port = free_port()
        self.log = RUN_DIR / f"shared-{name}-{self.port}.log"
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = start_standalone_proxy(self.port, self.log, env, workers=1)

    def post(self, client: httpx.Client, key: str) -> httpx.Response:
        return client.post(
            f"{self.url}/api/v1/messages",
            json=BODY,
            headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def instances(redis_server, upstream) -> Iterator[dict[str, Instance]]:
    base = {**os.environ, **TEST_ENV, "AIUSAGE_KEY_CACHE_TTL": "60", "AIUSAGE_UNMETERED_RPM": "4"}
    shared = {**base, "AIUSAGE_REDIS_URL": redis_server.url}
    started: dict[str, Instance] = {}
    try:
        started["a"] = Instance("a", shared)
        started["b"] = Instance("b", shared)
        started["alone"] = Instance("alone", base)  # no Redis: today's per-process behaviour
        yield started
    finally:
        for instance in started.values():
            instance.stop()


@pytest.fixture
def announcing(redis_server, monkeypatch):
    """This process announces its key changes through the test Redis, as an app instance
    configured with it would."""
    from aiusage.services import redis_link

    link = redis_link.RedisLink(redis_server.url)
    monkeypatch.setattr(redis_link, "shared_redis", lambda: link)
    return link


async def test_an_rpm_limit_holds_across_instances(instances, fake, make_account):
    account = await make_account(usd="5", provider_keys={"anthropic": ANTHROPIC_KEY}, rpm=6)
    statuses = []
    with httpx.Client(timeout=30) as client:
        for n in range(12):  # alternating between the two instances
            response = instances["ab"[n % 2]].post(client, account.proxy_key)
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert response.json()["type"] == "error"
                assert response.json()["error"]["type"] == "rate_limit_error"
                assert 1 <= int(response.headers["retry-after"]) <= 60
    assert statuses.count(200) == 6 and statuses.count(429) == 6, statuses
    assert statuses[:6] == [200] * 6


async def test_the_unmetered_routes_limit_holds_across_instances(instances, make_account):
    """`GET /api/v1/key` (like the model lists and token counts: nothing charged) is limited
    per key (AIUSAGE_UNMETERED_RPM, 4 here) across instances, not per instance."""
    account = await make_account(usd="5", provider_keys={"anthropic": ANTHROPIC_KEY})
    with httpx.Client(timeout=30) as client:
        statuses = [
            client.get(
                f"{instances['ab'[n % 2]].url}/api/v1/key",
                headers={"authorization": f"Bearer {account.proxy_key}"},
            ).status_code
            for n in range(8)
        ]
    assert statuses == [200] * 4 + [429] * 4, statuses


async def test_a_revoked_key_is_refused_by_the_other_instance_within_100_ms(
    instances, fake, make_account, announcing
):
    from aiusage.db import session_scope
    from aiusage.services import keys

    account = await make_account(usd="5", provider_keys={"anthropic": ANTHROPIC_KEY})
    with httpx.Client(timeout=30) as client:
        for name in ("a", "b", "alone"):  # each caches the key's grant for 60 s
            assert instances[name].post(client, account.proxy_key).status_code == 200

        async with session_scope() as session:
            await keys.revoke_proxy_key(session, account.id, account.key_id)
        committed = time.monotonic()  # committed, and announced on the way out

        waited = []
        for name in ("a", "b"):
            while (status := instances[name].post(client, account.proxy_key).status_code) != 401:
                assert status == 200
                assert time.monotonic() - committed < 5, f"instance {name} still accepts the key"
                await asyncio.sleep(0.005)
            waited.append(time.monotonic() - committed)
        assert waited[0] < 0.1, waited
        # Without Redis the cached grant lives on (what the announcement saves us from).
        assert instances["alone"].post(client, account.proxy_key).status_code == 200


async def test_the_proxies_keep_serving_while_redis_is_down(
    instances, redis_server, fake, make_account
):
    account = await make_account(usd="5", provider_keys={"anthropic": ANTHROPIC_KEY}, rpm=4)
    with httpx.Client(timeout=30) as client:
        redis_server.stop()
        try:
            started = time.monotonic()
            # Per process while Redis is away: 4 on each instance, never an error of ours.
            statuses = [
                instances["ab"[n % 2]].post(client, account.proxy_key).status_code
                for n in range(10)
            ]
            assert statuses.count(200) == 8 and statuses.count(429) == 2, statuses
            assert time.monotonic() - started < 10
        finally:
            redis_server.start()
        for name in ("a", "b"):
            text = instances[name].log.read_text()
            assert text.count("Redis is unavailable") == 1, text[-2000:]

        # Back: shared again. A new key's 4 requests are counted once across both.
        other = await make_account(usd="5", provider_keys={"anthropic": ANTHROPIC_KEY}, rpm=4)
        deadline = time.monotonic() + 10
        while "Redis is back" not in instances["a"].log.read_text():
            instances["a"].post(client, account.proxy_key)
            assert time.monotonic() < deadline, "instance a did not notice Redis again"
            await asyncio.sleep(0.2)
        deadline = time.monotonic() + 10
        while "Redis is back" not in instances["b"].log.read_text():
            instances["b"].post(client, account.proxy_key)
            assert time.monotonic() < deadline, "instance b did not notice Redis again"
            await asyncio.sleep(0.2)
        statuses = [
            instances["ab"[n % 2]].post(client, other.proxy_key).status_code for n in range(8)
        ]
        assert statuses.count(200) == 4, statuses


async def test_a_restarted_redis_gets_each_instances_hits_back(redis_server):
    """Redis restarted (it keeps nothing): each instance puts its own hits of the minute back,
    so the limit holds across instances instead of starting again from zero."""
    from aiusage.services import redis_link
    from aiusage.services.shared_limits import SharedSlidingWindow

    redis_server.cli("FLUSHALL")
    first, second = redis_link.RedisLink(redis_server.url), redis_link.RedisLink(redis_server.url)
    a, b = SharedSlidingWindow("t", link=first), SharedSlidingWindow("t", link=second)
    assert [await a.try_hit("k", 10) for _ in range(2)] == [0, 0]
    assert [await b.try_hit("k", 10) for _ in range(2)] == [0, 0]
    redis_server.restart()
    assert redis_server.cli("EXISTS", "aiusage:t:k") == "0"  # the minute is forgotten
    # Right after the restart a try may find its connection gone (then it counts in the
    # process and the link waits a second) or a new one; either way nothing is refused.
    assert await a.try_hit("k", 10) == 0 and await b.try_hit("k", 10) == 0
    await asyncio.sleep(redis_link.RETRY_SECONDS + 0.1)
    assert await a.try_hit("k", 10) == 0 and await b.try_hit("k", 10) == 0
    # Every hit of the minute is in the restarted Redis: each instance put its own back.
    assert redis_server.cli("ZCARD", "aiusage:t:k") == "8"
    waits = [await b.try_hit("k", 10) for _ in range(3)]
    assert waits[:2] == [0, 0] and waits[2] > 0  # the tenth is the last of the minute
    for link in (first, second):
        await link.client().aclose()


async def test_a_restarted_redis_gets_each_instances_tokens_back(redis_server):
    """The tpm window too: tokens of the minute counted before a Redis restart go back into
    it, so a key at its limit stays refused on every instance instead of starting over."""
    from aiusage.services import redis_link
    from aiusage.services.shared_limits import SharedTokenWindow

    redis_server.cli("FLUSHALL")
    first, second = redis_link.RedisLink(redis_server.url), redis_link.RedisLink(redis_server.url)
    a, b = SharedTokenWindow("t", link=first), SharedTokenWindow("t", link=second)
    assert await a.retry_after("k", 1000) == 0 and await b.retry_after("k", 1000) == 0
    await a.add("k", 600)
    await b.add("k", 500)
    assert await a.retry_after("k", 1000) > 0  # 1,100 of 1,000: across both instances
    redis_server.restart()
    assert redis_server.cli("EXISTS", "aiusage:t:k") == "0"  # the minute is forgotten
    # A first call may find its connection gone (then the process decides alone, on its own
    # 500 or 600 tokens: allowed, and the link waits a second) or a new one.
    await a.retry_after("k", 1000)
    await b.retry_after("k", 1000)
    await asyncio.sleep(redis_link.RETRY_SECONDS + 0.1)
    # Both instances put their tokens back: 1,100 in Redis again, refused on each.
    assert await a.retry_after("k", 1000) > 0 and await b.retry_after("k", 1000) > 0
    assert redis_server.cli("ZCARD", "aiusage:t:k") == "2"
    assert await a.retry_after("k", 2000) == 0  # a higher limit is not reached
    for link in (first, second):
        await link.client().aclose()
