"""What the parts of a proxied request cost, to see where the proxy's CPU goes and what a
leaner design could reach. Complements `bench.proxy` (whole requests) and its --profile.

    .venv/bin/python -m bench.parts            # ~1 minute

In-process parts (CPU µs per operation, this process's CPU time, which includes the
aiosqlite worker threads; the fake upstream runs in its own process):
  the proxy's own functions: key-cache hit, provider-key decryption, body JSON parse,
  place_holds (the per-request hold transaction), write_batch (per settlement, by batch
  size), the httpx upstream call as the proxy makes it;
  floors for comparison: the same hold and settlement with the stdlib sqlite3 module
  (no ORM, no thread hop), and a raw-socket HTTP/1.1 call (bench.loadgen's client).
Served floors (CPU ms per request of granian's processes, CPU-pinned like bench.proxy):
  granian + a static ASGI app; granian + an ASGI app that only forwards with httpx.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench import procs
from bench.bodies import RequestKind
from bench.loadgen import connect
from bench.proxy import (
    BIN,
    RESULTS,
    ROOT,
    Placement,
    create_account,
    free_port,
    make_env,
    pinned,
    stop_process,
    workdir,
)

ANTHROPIC = RequestKind("anthropic", False)


async def timed(n: int, fn: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """(CPU µs, wall µs) per call, after a few warm-up calls."""
    for _ in range(min(20, n)):
        await fn()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        await fn()
    return (
        (time.process_time() - cpu0) * 1e6 / n,
        (time.perf_counter() - wall0) * 1e6 / n,
    )


def settlement(user_id: int, key_id: int, hold: int, i: int) -> Any:
    from aiusage.proxy.usage_writer import Settlement

    return Settlement(
        user_id=user_id,
        key_id=key_id,
        hold_nano=hold,
        key_hold_nano=0,
        charge_nano=1234,
        usage={
            "request_id": f"req_parts_{i:012d}_{os.getpid()}",
            "created_at": dt.datetime.now(dt.UTC),
            "provider": "anthropic",
            "endpoint": "/v1/messages",
            "model": "claude-sonnet-4-5",
            "key_source": "byok",
            "input_tokens": 25,
            "output_tokens": 12,
            "cache_write_5m_tokens": 0,
            "cache_write_1h_tokens": 0,
            "cache_read_tokens": 0,
            "cost_nano": 255,
            "charged_nano": 1234,
            "priced_by_default": False,
            "tokens_estimated": False,
            "status": 200,
            "error_type": None,
            "latency_ms": 3,
            "ttfb_ms": 3,
            "request_bytes": 2000,
            "response_bytes": 700,
            "streamed": False,
            "ip_hash": "0" * 64,
            "user_agent": "aiusage-bench",
            "client_session_id": None,
        },
    )


async def in_process(db_path: Path, fake_url: str, proxy_key: str, n: int) -> list[dict[str, Any]]:
    from aiusage.db import dispose_engine
    from aiusage.proxy.auth import KeyCache
    from aiusage.proxy.holds import Holds, HoldTicket, now_ms
    from aiusage.proxy.surfaces.openai_chat import OPENAI_CHAT
    from aiusage.proxy.usage_writer import write_batch
    from aiusage.proxy.validation import parse_json_body
    from aiusage.services.crypto import open_sealed
    from aiusage.services.pricing import default_price

    rows: list[dict[str, Any]] = []

    async def add(part: str, calls: int, fn: Callable[[], Awaitable[Any]], per: int = 1) -> None:
        cpu, wall = await timed(calls, fn)
        rows.append({"part": part, "cpu_us": cpu / per, "wall_us": wall / per})
        print(f"  {part:<66} {cpu / per:9.1f} {wall / per:9.1f}", flush=True)

    print(f"  {'part':<66} {'CPU µs':>9} {'wall µs':>9}")
    cache = KeyCache()
    grant = await cache.lookup(proxy_key)
    assert grant is not None
    await add("key cache hit (sha256 + dict)", n * 10, lambda: cache.lookup(proxy_key))
    sealed = grant.provider_keys["anthropic"]

    async def decrypt() -> None:
        open_sealed(sealed, grant.user_id, "anthropic")

    await add("provider key decryption (open_sealed, AESGCM)", n * 10, decrypt)
    for kb in (2, 100):
        body = ANTHROPIC.body(kb * 1024)
        stream_body = RequestKind("openai", True).body(kb * 1024)

        async def parse(body: bytes = body) -> None:
            parse_json_body(body)

        async def rewrite(body: bytes = stream_body) -> None:
            payload = parse_json_body(body)
            OPENAI_CHAT.prepare(payload, body, OPENAI_CHAT.shape(payload, 0), default_price(), 0)

        await add(f"request JSON parse, {kb} KB", n, parse)
        await add(f"OpenAI stream body parse + rewrite (stream_options), {kb} KB", n, rewrite)

    holds = Holds()
    await holds.start()
    request_ids = iter(range(10**9))

    async def hold() -> None:
        ticket = HoldTicket(
            request_id=f"req_bench_{next(request_ids)}",
            user_id=grant.user_id,
            key_id=grant.key_id,
            amount_nano=1_000,
            started_ms=now_ms(),
            provider="anthropic",
            endpoint="/v1/messages",
            model="claude-sonnet-4-5",
            byok=True,
            request_bytes=2048,
        )
        await holds.place(grant, ticket)

    await add("Holds.place: balance hold + hold row (sqlite3, holds thread)", n, hold)
    await holds.stop()
    counter = iter(range(10**9))
    for size in (1, 32, 256):
        calls = max(n // size, 8)

        async def write(size: int = size) -> None:
            await write_batch(
                [settlement(grant.user_id, grant.key_id, 1_000, next(counter)) for _ in range(size)]
            )

        await add(
            f"write_batch per settlement, batches of {size} (SQLAlchemy + aiosqlite)",
            calls,
            write,
            per=size,
        )
    await dispose_engine()

    # Floors: the same SQL with the stdlib driver, on the event loop's thread.
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    user_id, key_id = grant.user_id, grant.key_id

    async def raw_hold() -> None:
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "UPDATE users SET held_nano = held_nano + ? WHERE id = ? "
            "AND balance_nano - held_nano >= ?",
            (1_000, user_id, 1_000),
        )
        db.execute("COMMIT")

    await add("floor: the hold UPDATE with sqlite3, own transaction", n, raw_hold)
    columns = list(settlement(0, 0, 0, 0).usage)

    for size in (32, 256):

        async def raw_batch(size: int = size) -> None:
            batch = [settlement(user_id, key_id, 1_000, next(counter)) for _ in range(size)]
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                f"INSERT INTO usage (user_id, proxy_key_id, {', '.join(columns)}) "
                f"VALUES (?, ?, {', '.join('?' * len(columns))})",
                [(s.user_id, s.key_id, *s.usage.values()) for s in batch],
            )
            total = sum(s.charge_nano for s in batch)
            db.execute(
                "UPDATE users SET balance_nano = balance_nano - ?, held_nano = held_nano - ? "
                "WHERE id = ?",
                (total, sum(s.hold_nano for s in batch), user_id),
            )
            db.executemany(
                "INSERT INTO ledger (user_id, kind, amount_nano, balance_after_nano, "
                "description, created_at) VALUES (?, 'usage', ?, 0, 'anthropic x', ?)",
                [(user_id, -s.charge_nano, s.usage["created_at"]) for s in batch],
            )
            db.execute(
                "UPDATE proxy_keys SET spent_nano = spent_nano + ? WHERE id = ?", (total, key_id)
            )
            db.execute("COMMIT")

        await add(
            f"floor: settlements with sqlite3 executemany, batches of {size}",
            max(n // size, 8),
            raw_batch,
            per=size,
        )
    db.close()

    rows += await client_costs(fake_url, n)
    return rows


async def client_costs(fake_url: str, n: int) -> list[dict[str, Any]]:
    """CPU per upstream call for each HTTP client at hand, one at a time and 32 at once."""
    import importlib

    import httpx

    from aiusage.proxy.upstream import UpstreamClient, request_headers

    body = ANTHROPIC.body(2048)
    raw_headers = request_headers(
        [
            (b"content-type", b"application/json"),
            (b"anthropic-version", b"2023-06-01"),
            (b"user-agent", b"aiusage-bench"),
        ],
        [(b"x-api-key", b"sk-ant-bench")],
        identity=False,
    )
    url = fake_url + "/v1/messages"
    host, port = fake_url.removeprefix("http://").split(":")
    clients: dict[
        str,
        Callable[
            [], Awaitable[tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]]
        ],
    ] = {}

    async def make_proxy_client() -> tuple[Any, Any]:
        client = UpstreamClient()

        async def call() -> None:
            response = await client.open("POST", url, raw_headers, body)
            try:
                await response.read()
            finally:
                response.close()

        return call, client.close

    async def make_httpx(module: Any = httpx) -> tuple[Any, Any]:
        client = module.AsyncClient(
            limits=module.Limits(max_connections=512, max_keepalive_connections=128),
            trust_env=False,
        )

        async def call() -> None:
            request = client.build_request("POST", url, headers=raw_headers, content=body)
            response = await client.send(request, stream=True)
            try:
                b"".join([chunk async for chunk in response.aiter_raw()])
            finally:
                await response.aclose()

        return call, client.aclose

    clients["UpstreamClient (as the proxy: aiohttp, read whole)"] = make_proxy_client
    clients[f"httpx {httpx.__version__} (stream=True, aiter_raw)"] = make_httpx
    with contextlib.suppress(ImportError):
        httpx2 = importlib.import_module("httpx2")
        clients[f"httpx2 {httpx2.__version__}"] = lambda: make_httpx(httpx2)
    with contextlib.suppress(ImportError):
        aiohttp = importlib.import_module("aiohttp")

        async def make_aiohttp() -> tuple[Any, Any]:
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=512), auto_decompress=False
            )
            headers = [(k.decode(), v.decode()) for k, v in raw_headers]

            async def call() -> None:
                async with session.post(url, data=body, headers=headers) as response:
                    async for _ in response.content.iter_any():
                        pass

            return call, session.close

        clients[f"aiohttp {aiohttp.__version__}"] = make_aiohttp

    async def make_raw() -> tuple[Any, Any]:
        pool: list[Any] = []
        raw = ANTHROPIC.raw_request("direct", host, int(port), "sk-ant-bench", 2048)

        async def call() -> None:
            conn = pool.pop() if pool else await connect(host, int(port))
            await conn.request(raw)
            pool.append(conn)

        async def close() -> None:
            for conn in pool:
                conn.transport.close()

        return call, close

    clients["floor: raw asyncio socket + httptools (bench.loadgen's)"] = make_raw
    rows = []
    for name, make in clients.items():
        call, close = await make()
        for concurrency in (1, 32):

            async def batch(concurrency: int = concurrency, call: Any = call) -> None:
                await asyncio.gather(*(call() for _ in range(concurrency)))

            cpu, wall = await timed(max(n // concurrency, 20), batch)
            part = f"upstream call, {name}, {concurrency} at once"
            rows.append({"part": part, "cpu_us": cpu / concurrency, "wall_us": wall / concurrency})
            print(f"  {part:<66} {cpu / concurrency:9.1f} {wall / concurrency:9.1f}", flush=True)
        await close()
    return rows


def served_floor(
    mode: str,
    loop: str,
    fake_url: str,
    env: dict[str, str],
    placement: Placement,
    requests: int,
) -> list[dict[str, Any]]:
    port = free_port()
    server = subprocess.Popen(
        [
            str(BIN / "granian"),
            "--interface",
            "asgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--no-ws",
            "--log-level",
            "warning",
            "--loop",
            loop,
            "bench.floor_app:app",
        ],
        cwd=ROOT,
        env={**env, "BENCH_FLOOR_MODE": mode, "BENCH_FLOOR_UPSTREAM": fake_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=pinned(placement.proxy),
        start_new_session=True,
    )
    rows = []
    try:
        wait_http_post(port, server)
        for concurrency in (1, 32):
            for kind in (ANTHROPIC, RequestKind("anthropic", True)):
                if mode == "static" and kind.stream:
                    continue
                gen = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "bench.loadgen",
                        "--port",
                        str(port),
                        "--target",
                        "proxy",
                        "--kinds",
                        kind.name,
                        "--concurrency",
                        str(concurrency),
                        "--requests",
                        str(requests),
                        "--warmup",
                        "200",
                        "--handshake",
                    ],
                    cwd=ROOT,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    preexec_fn=pinned(placement.rig),
                )
                assert gen.stdin is not None and gen.stdout is not None
                before = 0.0
                result: dict[str, Any] = {}
                for line in gen.stdout:
                    if line.startswith("READY"):
                        before = procs.sample(server.pid).cpu_s
                        gen.stdin.write("go\n")
                        gen.stdin.flush()
                    elif line.startswith("RESULT "):
                        result = json.loads(line[7:])
                gen.wait()
                cpu = (procs.sample(server.pid).cpu_s - before) * 1000 / max(result["ok"], 1)
                label = f"{mode}{'' if loop == 'auto' else ' ' + loop}"
                row = {
                    "floor": f"granian + {label}",
                    "kind": kind.name,
                    "concurrency": concurrency,
                    "cpu_ms": cpu,
                    "rps": result["rps"],
                    "p50_ms": result["latency_ms"]["p50"],
                    "ok": result["ok"],
                }
                rows.append(row)
                print(
                    f"  granian + {label:<15} {kind.name:<18} c={concurrency:<3} "
                    f"{cpu:6.2f} ms CPU/req {result['rps']:7.0f} req/s  "
                    f"p50 {result['latency_ms']['p50']:.2f} ms",
                    flush=True,
                )
    finally:
        stop_process(server, signal.SIGINT)
    return rows


def wait_http_post(port: int, proc: subprocess.Popen[Any]) -> None:
    """Waits until the server accepts connections."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the floor server exited while starting")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            time.sleep(0.5)  # let the worker come up behind the listener
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on port {port}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.parts",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--n", type=int, default=2000, help="calls per in-process part")
    p.add_argument("--requests", type=int, default=3000, help="requests per served floor run")
    p.add_argument("--no-pin", dest="pin", action="store_false")
    p.add_argument(
        "--extras",
        type=Path,
        help="a directory with extra packages (pip install --target DIR aiohttp uvloop) to "
        "compare: aiohttp as the upstream client, uvloop as granian's loop",
    )
    args = p.parse_args(argv)
    if args.extras:
        sys.path.insert(0, str(args.extras))
    placement = Placement.choose(args.pin)
    if placement.rig:
        os.sched_setaffinity(0, placement.rig)
    now = dt.datetime.now(dt.UTC)
    report: dict[str, Any] = {"date": now.isoformat(timespec="seconds"), "config": vars(args)}
    with workdir(False) as wd:
        env = make_env(wd, "byok")
        os.environ.update(env)
        subprocess.run(
            [str(BIN / "aiusage"), "db", "upgrade"],
            env=env,
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        _, proxy_key = asyncio.run(create_account("byok"))
        fake_port = free_port()
        fake = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.fakes.upstream",
                "--port",
                str(fake_port),
                "--set",
                "reply_text=" + " ".join(["token"] * 80),
                "--set",
                "n_deltas=20",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            preexec_fn=pinned(placement.rig),
        )
        try:
            assert fake.stdout is not None
            fake.stdout.readline()
            fake_url = f"http://127.0.0.1:{fake_port}"
            print("in-process parts (one call at a time):")
            report["parts"] = asyncio.run(
                in_process(wd / "data" / "aiusage.db", fake_url, proxy_key, args.n)
            )
            print("\nserved floors (no auth, no DB, no metering):")
            floors = [("static", "auto"), ("httpx", "auto")]
            if args.extras:
                env["PYTHONPATH"] = str(args.extras)
                floors += [("httpx", "uvloop"), ("aiohttp", "auto"), ("aiohttp", "uvloop")]
            report["floors"] = [
                row
                for mode, loop in floors
                for row in served_floor(mode, loop, fake_url, env, placement, args.requests)
            ]
        finally:
            stop_process(fake, signal.SIGTERM)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"parts-{now.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nresults: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main())
