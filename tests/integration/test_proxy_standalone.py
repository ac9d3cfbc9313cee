"""The proxy served on its own with several workers over the same database, and a graceful
stop that settles the requests still in flight."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import httpx

from tests.conftest import RUN_DIR, TEST_ENV
from tests.helpers.support import free_port, settled_money, start_standalone_proxy, wait_usage

ANTHROPIC_KEY = "sk-ant-api03-" + "w" * 40 + "WrKr"


def start_proxy(port: int) -> subprocess.Popen:
    return start_standalone_proxy(port, RUN_DIR / f"proxy-{port}.log", {**os.environ, **TEST_ENV})


async def test_workers_share_the_database_and_a_graceful_stop_settles_everything(
    fake, make_account
):
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/v1/messages"
    process = start_proxy(port)
    account = await make_account(usd="5", provider_keys={"anthropic": ANTHROPIC_KEY})
    headers = {"x-api-key": account.proxy_key, "anthropic-version": "2023-06-01"}
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "hi"}],
    }
    try:
        with httpx.Client(timeout=30) as client:
            for _ in range(20):  # spread over both workers by the kernel
                assert client.post(url, json=body, headers=headers).status_code == 200
        await wait_usage(account.id, 20)

        # Slow streams in flight, then a graceful stop (SIGINT) while they run.
        fake.behavior.chunk_delay = 0.1
        fake.behavior.n_deltas = 10
        statuses: list[int] = []

        def stream() -> None:
            try:
                with httpx.stream(
                    "POST", url, json={**body, "stream": True}, headers=headers, timeout=30
                ) as response:
                    statuses.append(response.status_code)
                    for _ in response.iter_bytes():
                        pass
            except httpx.HTTPError:
                statuses.append(-1)

        threads = [threading.Thread(target=stream) for _ in range(4)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(fake.requests) < 24:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=30) is not None
        for thread in threads:
            thread.join(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)

    assert statuses == [200] * 4
    rows = await wait_usage(account.id, 24)  # every request that reached the upstream
    assert all(row.charged_nano > 0 for row in rows)
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 5_000_000_000 - sum(row.charged_nano for row in rows)
