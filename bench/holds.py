"""What a crash-safe hold costs: CPU per hold with its row (`Holds.place`: the balance UPDATE
and the hold row INSERT in one transaction, on the event loop's own SQLite connection)
against the hold as it was before hold rows (the balance UPDATE alone, with the hop to the
SQLite lane's thread every hold made until bce4d02).

    .venv/bin/python -m bench.holds --n 5000

It runs in this process on a fresh SQLite database (migrated, one funded account) and prints
CPU µs and wall µs per hold for both, and their difference: the hold row's cost. Hold rows
are deleted between rounds as the usage writer would, outside the timed part."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sqlite3
import subprocess
import time

from bench.proxy import BIN, create_account, make_env, workdir


async def measure(n: int) -> dict[str, float]:
    from aiusage.config import get_settings
    from aiusage.proxy.auth import KeyGrant
    from aiusage.proxy.holds import _HOLD_BALANCE, Holds, HoldTicket, now_ms

    user_id, _ = await create_account("byok")
    grant = KeyGrant(1, user_id, None, None, {})
    holds = Holds()
    await holds.start()

    def balance_only(db: sqlite3.Connection) -> None:
        db.execute(_HOLD_BALANCE, (1_000, user_id, 1_000))

    async def before() -> None:
        assert holds.lane is not None
        await holds.lane.call(balance_only)

    async def now() -> None:
        ticket = HoldTicket(
            request_id="req_" + secrets.token_hex(12),
            user_id=user_id,
            key_id=1,
            amount_nano=1_000,
            started_ms=now_ms(),
            provider="anthropic",
            endpoint="/v1/messages",
            model="claude-sonnet-4-5",
            byok=True,
            request_bytes=2048,
        )
        await holds.place(grant, ticket)

    results: dict[str, float] = {}
    path = get_settings().async_database_url.split(":///", 1)[1]
    for rounds in range(3):  # interleaved rounds: both see the same machine state
        for name, fn in (("before", before), ("now", now)):
            for _ in range(50):
                await fn()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            for _ in range(n):
                await fn()
            cpu = (time.process_time() - cpu0) * 1e6 / n
            wall = (time.perf_counter() - wall0) * 1e6 / n
            results[f"{name}_cpu_us"] = min(results.get(f"{name}_cpu_us", 1e9), cpu)
            results[f"{name}_wall_us"] = min(results.get(f"{name}_wall_us", 1e9), wall)
            with sqlite3.connect(path) as db:  # what settlement would have removed
                db.execute("DELETE FROM holds")
                db.execute("UPDATE users SET held_nano = 0")
        print(f"  round {rounds + 1}: {results}", flush=True)
    await holds.stop()
    results["hold_row_cpu_us"] = results["now_cpu_us"] - results["before_cpu_us"]
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="holds per round and kind")
    args = parser.parse_args(argv)
    with workdir(keep=False) as wd:
        env = make_env(wd, "byok")
        subprocess.run([str(BIN / "aiusage"), "db", "upgrade"], env=env, check=True)
        os.environ.update(env)
        results = asyncio.run(measure(args.n))
    print(
        f"hold, balance UPDATE only (before): {results['before_cpu_us']:.1f} µs CPU, "
        f"{results['before_wall_us']:.1f} µs wall\n"
        f"hold with its row (now):             {results['now_cpu_us']:.1f} µs CPU, "
        f"{results['now_wall_us']:.1f} µs wall\n"
        f"the hold row costs:                  {results['hold_row_cpu_us']:.1f} µs CPU per request"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
