"""The load generator: a separate process that keeps `concurrency` HTTP/1.1 keep-alive
connections busy with prebuilt requests and times each one.

Raw asyncio sockets with httptools' C parser (no HTTP client library on the hot path), so the
generator costs little CPU per request and measures the same way whatever it points at.

Per request it records: total latency (request written → response complete), time to the
response headers, and time to the first body byte (TTFB; for a stream, the first SSE event).

Protocol with the orchestrator (bench.proxy), on stdout, one line each:
  READY                   after the warm-up, when started with --handshake; then it waits
                          for one line on stdin before the measured phase
  PROGRESS <n>            every --progress-every measured requests
  RESULT <json>           at the end (see `summary`)

    python -m bench.loadgen --port 8100 --target proxy --kinds anthropic --concurrency 32 \
        --requests 2000 --key sk-aiu-...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import socket
import sys
import time
from array import array
from collections import Counter
from typing import Any

import httptools

from bench.bodies import kind_from_name

perf_ns = time.perf_counter_ns


class Connection(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[int] | None = None
        self.t_headers = 0
        self.t_body = 0
        self.status = 0
        self.body_bytes = 0
        self.closed = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(error)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(exc or ConnectionError("connection closed by the server"))

    # httptools callbacks
    def on_headers_complete(self) -> None:
        self.t_headers = perf_ns()
        self.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        if not self.t_body:
            self.t_body = perf_ns()
        self.body_bytes += len(body)

    def on_message_complete(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(perf_ns())

    def _fail(self, error: BaseException) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(error)

    async def request(self, data: bytes) -> tuple[int, int, int, int, int]:
        """(start, headers, first body byte, end) in perf_counter ns, and the status."""
        assert self.transport is not None
        self.t_headers = self.t_body = self.status = self.body_bytes = 0
        self.waiter = self.loop.create_future()
        start = perf_ns()
        self.transport.write(data)
        end = await self.waiter
        return start, self.t_headers, self.t_body or end, end, self.status


async def connect(host: str, port: int) -> Connection:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(lambda: Connection(loop), host, port)
    return protocol


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def distribution(values_ns: array) -> dict[str, float]:
    ms = sorted(v / 1e6 for v in values_ns)
    if not ms:
        return {}
    return {
        "mean": sum(ms) / len(ms),
        "p50": percentile(ms, 0.50),
        "p90": percentile(ms, 0.90),
        "p99": percentile(ms, 0.99),
        "max": ms[-1],
    }


class Run:
    def __init__(
        self, requests: list[bytes], total: int, progress_every: int, deadline: float
    ) -> None:
        self.requests = requests
        self.total = total
        self.deadline = deadline  # perf_counter after which no new request starts
        self.next = 0
        self.done = 0
        self.progress_every = progress_every
        self.latency = array("q", bytes(8 * total))
        self.headers = array("q", bytes(8 * total))
        self.ttfb = array("q", bytes(8 * total))
        self.statuses: Counter[int] = Counter()
        self.errors: Counter[str] = Counter()
        self.body_bytes = 0

    async def worker(self, conn: Connection, host: str, port: int) -> None:
        requests = self.requests
        while self.next < self.total:
            if time.perf_counter() > self.deadline:
                return
            i = self.next
            self.next += 1
            if conn.closed:
                conn = await connect(host, port)
            try:
                start, headers, first, end, status = await conn.request(requests[i % len(requests)])
            except (ConnectionError, OSError, httptools.HttpParserError) as error:
                self.errors[type(error).__name__] += 1
                self.statuses[0] += 1
                conn = await connect(host, port)
                continue
            self.latency[i] = end - start
            self.headers[i] = headers - start
            self.ttfb[i] = first - start
            self.statuses[status] += 1
            self.body_bytes += conn.body_bytes
            self.done += 1
            if self.progress_every and self.done % self.progress_every == 0:
                print(f"PROGRESS {self.done}", flush=True)


async def run_phase(
    conns: list[Connection],
    requests: list[bytes],
    total: int,
    host: str,
    port: int,
    progress_every: int = 0,
    max_seconds: float = math.inf,
) -> Run:
    run = Run(requests, total, progress_every, time.perf_counter() + max_seconds)
    await asyncio.gather(*(run.worker(c, host, port) for c in conns))
    return run


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    kinds = [kind_from_name(name) for name in args.kinds.split(",")]
    requests = [
        k.raw_request(args.target, args.host, args.port, args.key, args.body_bytes) for k in kinds
    ]
    conns = [await connect(args.host, args.port) for _ in range(args.concurrency)]
    warm = await run_phase(conns, requests, args.warmup, args.host, args.port)
    if args.handshake:
        print("READY", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    run = await run_phase(
        conns, requests, args.requests, args.host, args.port, args.progress_every, args.max_seconds
    )
    cpu1, wall1 = time.process_time(), time.perf_counter()
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    ok = run.statuses.get(200, 0)
    return {
        "target": args.target,
        "kinds": [k.name for k in kinds],
        "concurrency": args.concurrency,
        "request_bytes": [len(r) for r in requests],
        "warmup": {"requests": args.warmup, "statuses": dict(warm.statuses)},
        "requests": args.requests,
        "sent": run.next,  # fewer than requests when --max-seconds cut the run short
        "cut_short": run.next < args.requests,
        "ok": ok,
        "statuses": {str(k): v for k, v in run.statuses.items()},
        "errors": dict(run.errors),
        "response_bytes_mean": run.body_bytes / max(run.done, 1),
        "wall_s": wall1 - wall0,
        "rps": run.done / (wall1 - wall0),
        "latency_ms": distribution(_ok(run.latency)),
        "headers_ms": distribution(_ok(run.headers)),
        "ttfb_ms": distribution(_ok(run.ttfb)),
        "generator_cpu_ms_per_request": (cpu1 - cpu0) * 1000 / max(run.done, 1),
    }


def _ok(values: array) -> array:
    return array("q", (v for v in values if v > 0))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--target", choices=("proxy", "direct"), required=True)
    p.add_argument("--kinds", default="anthropic", help="comma-separated, sent round-robin")
    p.add_argument("--key", default="sk-bench-direct")
    p.add_argument("--body-bytes", type=int, default=2048)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--progress-every", type=int, default=0)
    p.add_argument("--handshake", action="store_true")
    p.add_argument(
        "--max-seconds",
        type=float,
        default=math.inf,
        help="start no new request after this long (measured phase only)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = asyncio.run(main_async(args))
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
