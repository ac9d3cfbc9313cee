"""What the usage writer's batch costs: CPU and wall time per `write_batch`, on the engine
(aiosqlite: a hop to its thread per statement) and in the SQLite lane (one hop per batch).

    .venv/bin/python -m bench.writer [--sizes 1,8,32,128] [--batches 200]

In this process, on a fresh SQLite database (migrated, one funded account): each batch's
holds are placed first (outside the timed part), then the batch is booked and timed. Prints
CPU µs per batch and per row, and wall µs per batch (how long a hold would wait behind it)."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import time
from datetime import UTC, datetime

from bench.proxy import BIN, create_account, make_env, workdir


async def measure(sizes: list[int], batches: int) -> list[dict[str, float]]:
    from aiusage.proxy.auth import KeyGrant
    from aiusage.proxy.holds import Holds, HoldTicket, now_ms
    from aiusage.proxy.usage_writer import Settlement, write_batch

    user_id, _ = await create_account("byok")
    grant = KeyGrant(1, user_id, None, None, {})
    holds = Holds()
    await holds.start()

    async def settlements(n: int) -> list[Settlement]:
        out = []
        for _ in range(n):
            ticket = HoldTicket(
                request_id="req_" + secrets.token_hex(12),
                user_id=user_id,
                key_id=1,
                amount_nano=100_000,
                started_ms=now_ms(),
                provider="anthropic",
                endpoint="/v1/messages",
                model="claude-sonnet-4-5",
                byok=True,
                request_bytes=2048,
            )
            await holds.place(grant, ticket)
            out.append(
                Settlement(
                    user_id=user_id,
                    key_id=1,
                    hold_nano=100_000,
                    key_hold_nano=0,
                    charge_nano=1_234,
                    usage={
                        "request_id": ticket.request_id,
                        "created_at": datetime.now(UTC),
                        "provider": "anthropic",
                        "endpoint": "/v1/messages",
                        "model": "claude-sonnet-4-5",
                        "key_source": "byok",
                        "input_tokens": 500,
                        "output_tokens": 100,
                        "cache_write_5m_tokens": 0,
                        "cache_write_1h_tokens": 0,
                        "cache_read_tokens": 0,
                        "web_search_calls": 0,
                        "web_fetch_calls": 0,
                        "file_search_calls": 0,
                        "code_interpreter_containers": 0,
                        "tokens_estimated": False,
                        "cost_nano": 1_234,
                        "charged_nano": 1_234,
                        "priced_by_default": False,
                        "status": 200,
                        "error_type": None,
                        "latency_ms": 3,
                        "ttfb_ms": None,
                        "request_bytes": 2048,
                        "response_bytes": 700,
                        "streamed": False,
                        "ip_hash": "",
                        "user_agent": "bench",
                        "client_session_id": None,
                    },
                )
            )
        return out

    results = []
    for size in sizes:
        for where, lane in (("engine", None), ("lane", holds.lane)):
            for _ in range(5):
                await write_batch(await settlements(size), lane)
            cpu = wall = 0.0
            for _ in range(batches):
                batch = await settlements(size)
                cpu0, wall0 = time.process_time(), time.perf_counter()
                await write_batch(batch, lane)
                cpu += time.process_time() - cpu0
                wall += time.perf_counter() - wall0
            row = {
                "size": size,
                "where": where,
                "cpu_us_per_batch": cpu * 1e6 / batches,
                "cpu_us_per_row": cpu * 1e6 / batches / size,
                "wall_us_per_batch": wall * 1e6 / batches,
            }
            print(
                f"  batch of {size:>4} {where:<6}: {row['cpu_us_per_batch']:8.0f} µs CPU "
                f"({row['cpu_us_per_row']:6.0f} per row), {row['wall_us_per_batch']:8.0f} µs wall",
                flush=True,
            )
            results.append(row)
    await holds.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,8,32,128")
    parser.add_argument("--batches", type=int, default=200)
    args = parser.parse_args(argv)
    with workdir(keep=False) as wd:
        env = make_env(wd, "byok")
        subprocess.run([str(BIN / "aiusage"), "db", "upgrade"], env=env, check=True)
        os.environ.update(env)
        asyncio.run(measure([int(s) for s in args.sizes.split(",")], args.batches))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
