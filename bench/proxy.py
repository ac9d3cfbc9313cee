"""The proxy benchmark: one command runs everything.

    .venv/bin/python -m bench.proxy --requests 2000

It makes a throw-away data directory and secrets, migrates a fresh SQLite database (or, with
`--database postgres`, a throw-away PostgreSQL server from Debian's packages, as the tests
start one: tests/helpers/pg.py), creates
an account with plenty of credit and a proxy key, starts the fake upstream
(tests.fakes.upstream) and the standalone proxy (`aiusage proxy serve`, granian), then for
each provider, streaming and not, at each concurrency, runs the same load generator
(bench.loadgen, its own process) twice: straight at the fake ("direct") and through the
proxy. "Added" figures are proxy minus direct. The proxy's CPU per request is read from
/proc (utime+stime of granian's main process and its workers) around the measured phase,
after the usage writer has drained. At the end the usage rows written must equal the
requests proxied. Results: a table on stdout and JSON in bench/results/.

CPU placement (2 cores): the proxy is pinned to CPU 0; the fake, the generator and this
process to CPU 1, so the proxy has one core to itself, as one worker in production would.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import http.client
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bench import hotspots, procs
from bench.bodies import ALL_KINDS, RequestKind, kind_from_name

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
GRANT_USD = "1000000"

# The targets the issue sets (one worker, SQLite).
TARGET_CPU_MS = 1.0  # per non-streaming request
TARGET_ADDED_P50_MS = 1.5  # at concurrency 1
TARGET_ADDED_TTFB_MS = 2.0  # streaming, concurrency 1
TARGET_RPS = 1000.0  # non-streaming, concurrency 32
RSS_FLAT_TOLERANCE = 0.05  # growth after warm-up, as a fraction of the warm RSS
RSS_FLAT_MIN_BYTES = 4 * 1024 * 1024  # growth below this counts as flat whatever the ratio


# --- plumbing -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cpus: set[int] | None) -> Callable[[], None] | None:
    if not cpus:
        return None

    def pin() -> None:
        os.sched_setaffinity(0, cpus)

    return pin


@dataclass
class Placement:
    proxy: set[int] | None
    rig: set[int] | None  # fake, generator, profiler, this process

    @classmethod
    def choose(cls, enabled: bool) -> Placement:
        cpus = sorted(os.sched_getaffinity(0))
        if not enabled or len(cpus) < 2:
            return cls(None, None)
        return cls({cpus[0]}, set(cpus[1:]))


def wait_http(port: int, path: str, timeout: float, proc: subprocess.Popen[Any]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} while starting")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"nothing answered on port {port} within {timeout} s")


def stop_process(proc: subprocess.Popen[Any], sig: int, timeout: float = 20) -> None:
    if proc.poll() is not None:
        return
    pids = procs.tree(proc.pid)
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    for pid in pids[1:]:  # workers left behind, if any
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# --- the rig ------------------------------------------------------------------------------


@dataclass
class Rig:
    args: argparse.Namespace
    placement: Placement
    workdir: Path
    env: dict[str, str]
    fake_port: int = 0
    proxy_port: int = 0
    proxy_key: str = ""
    user_id: int = 0
    fake: subprocess.Popen[str] | None = None
    proxy: subprocess.Popen[str] | None = None
    proxied: int = 0  # requests sent through the proxy so far (warm-ups included)
    db_url: str = ""  # PostgreSQL's (psycopg) when not on SQLite
    db_pid: int = 0  # PostgreSQL's postmaster, whose CPU is read like the proxy's
    logs: list[IO[str]] = field(default_factory=list)

    @property
    def db_path(self) -> Path:
        return self.workdir / "data" / "aiusage.db"

    def log(self, name: str) -> IO[str]:
        handle = open(self.workdir / name, "w")  # noqa: SIM115 (closed in close())
        self.logs.append(handle)
        return handle

    def start(self) -> None:
        a = self.args
        subprocess.run(
            [str(BIN / "aiusage"), "db", "upgrade"],
            env=self.env,
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.user_id, self.proxy_key = asyncio.run(create_account(a.key_source))
        self.fake_port = free_port()
        reply = " ".join(["token"] * max(a.reply_words, 1))
        self.fake = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.fakes.upstream",
                "--port",
                str(self.fake_port),
                "--set",
                f"reply_text={reply}",
                "--set",
                f"n_deltas={a.deltas}",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=self.log("fake.log"),
            text=True,
            preexec_fn=pinned(self.placement.rig),
        )
        assert self.fake.stdout is not None
        line = self.fake.stdout.readline()
        if "listening" not in line:
            raise RuntimeError(f"the fake upstream did not start: {line!r}")
        self.env["AIUSAGE_ANTHROPIC_BASE_URL"] = f"http://127.0.0.1:{self.fake_port}"
        self.env["AIUSAGE_OPENAI_BASE_URL"] = f"http://127.0.0.1:{self.fake_port}"
        self.proxy_port = free_port()
        self.proxy = subprocess.Popen(
            [
                str(BIN / "aiusage"),
                "proxy",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.proxy_port),
                "--workers",
                str(a.workers),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log("proxy.log"),
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=pinned(self.placement.proxy),
            start_new_session=True,
        )
        wait_http(self.proxy_port, "/api/health", 60, self.proxy)
        time.sleep(0.5)  # let every worker come up

    def close(self) -> None:
        if self.proxy is not None:
            stop_process(self.proxy, signal.SIGINT)  # graceful: the usage queue is drained
        if self.fake is not None:
            stop_process(self.fake, signal.SIGTERM)
        for handle in self.logs:
            handle.close()

    # Database checks, read straight from the SQLite file (WAL: readers never block writers)
    # or from PostgreSQL.
    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.db_url:
            import psycopg

            with psycopg.connect(self.db_url, autocommit=True) as pg:
                return list(pg.execute(sql.replace("?", "%s"), params).fetchall())
        with contextlib.closing(sqlite3.connect(self.db_path, timeout=30)) as db:
            return db.execute(sql, params).fetchall()

    def usage_rows(self) -> int:
        return int(self._query("SELECT count(*) FROM usage")[0][0])

    def account(self) -> dict[str, int]:
        ((balance, held),) = self._query(
            "SELECT balance_nano, held_nano FROM users WHERE id = ?", (self.user_id,)
        )
        statuses = dict(self._query("SELECT status, count(*) FROM usage GROUP BY status"))
        return {"balance_nano": balance, "held_nano": held, "usage_statuses": statuses}

    def db_cpu(self) -> float:
        return procs.sample(self.db_pid).cpu_s if self.db_pid else 0.0

    def drain(self, timeout: float = 120) -> float:
        """Waits until the proxy wrote a usage row for every request it got; returns the wait."""
        start = time.monotonic()
        while (rows := self.usage_rows()) < self.proxied:
            if time.monotonic() - start > timeout:
                raise RuntimeError(f"usage rows stuck at {rows} of {self.proxied}")
            time.sleep(0.02)
        return time.monotonic() - start

    def proxy_sample(self) -> procs.TreeSample:
        assert self.proxy is not None
        return procs.sample(self.proxy.pid)

    def fake_cpu(self) -> float:
        assert self.fake is not None
        return procs.cpu_seconds(self.fake.pid)

    def load(
        self,
        target: str,
        kinds: list[RequestKind],
        concurrency: int,
        requests: int,
        *,
        warmup: int,
        progress_every: int = 0,
        on_progress: Callable[[int], None] | None = None,
        on_ready: Callable[[], None] | None = None,
        max_seconds: float = 0,
    ) -> dict[str, Any]:
        """Runs the generator once; measures CPU of proxy and fake around its measured phase."""
        port = self.proxy_port if target == "proxy" else self.fake_port
        cmd = [
            sys.executable,
            "-m",
            "bench.loadgen",
            "--port",
            str(port),
            "--target",
            target,
            "--kinds",
            ",".join(k.name for k in kinds),
            "--concurrency",
            str(concurrency),
            "--requests",
            str(requests),
            "--warmup",
            str(warmup),
            "--body-bytes",
            str(int(self.args.body_kb * 1024)),
            "--key",
            self.proxy_key if target == "proxy" else "sk-bench-direct",
            "--progress-every",
            str(progress_every),
            "--handshake",
            *(["--max-seconds", str(max_seconds)] if max_seconds else []),
        ]
        gen = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=pinned(self.placement.rig),
        )
        assert gen.stdin is not None and gen.stdout is not None
        result: dict[str, Any] | None = None
        before = after = None
        fake_before = busy_before = t_before = db_before = 0.0
        busy_cpus = self.placement.proxy or set(os.sched_getaffinity(0))
        for line in gen.stdout:
            if line.startswith("READY"):
                if target == "proxy":
                    self.proxied += warmup
                    self.drain()
                before, fake_before = self.proxy_sample(), self.fake_cpu()
                db_before = self.db_cpu()
                busy_before = procs.cpu_busy_seconds(busy_cpus)
                t_before = time.monotonic()
                if on_ready:
                    on_ready()
                gen.stdin.write("go\n")
                gen.stdin.flush()
            elif line.startswith("PROGRESS") and on_progress:
                on_progress(int(line.split()[1]))
            elif line.startswith("RESULT "):
                result = json.loads(line[7:])
        if gen.wait() != 0 or result is None or before is None:
            raise RuntimeError(f"the load generator failed ({gen.returncode})")
        if target == "proxy":
            self.proxied += result["sent"]
            result["drain_wait_s"] = self.drain()
        after, fake_after = self.proxy_sample(), self.fake_cpu()
        busy = procs.cpu_busy_seconds(busy_cpus) - busy_before
        done = max(result["ok"], 1)
        proxy_cpu = after.cpu_s - before.cpu_s
        result["proxy_cpu_ms_per_request"] = proxy_cpu * 1000 / done
        result["proxy_sys_cpu_ms_per_request"] = (after.sys_s - before.sys_s) * 1000 / done
        result["proxy_thread_cpu_ms_per_request"] = {
            group: (after.threads.get(group, 0.0) - seconds) * 1000 / done
            for group, seconds in before.threads.items()
        }
        # Work on the proxy's CPU that was not the proxy's (other programs on the machine):
        # when high, latency and req/s are disturbed; CPU per request is not.
        wall = time.monotonic() - t_before
        result["foreign_cpu_share_on_proxy_cpus"] = max(busy - proxy_cpu, 0.0) / (
            wall * len(busy_cpus)
        )
        result["fake_cpu_ms_per_request"] = (fake_after - fake_before) * 1000 / done
        if self.db_pid:  # PostgreSQL's processes (on the rig's CPU)
            result["db_cpu_ms_per_request"] = (self.db_cpu() - db_before) * 1000 / done
        result["proxy_rss_mib"] = after.rss_total / 2**20
        return result


async def create_account(key_source: str) -> tuple[int, str]:
    """A verified user with a large credit, one proxy key, and (byok) their own provider keys."""
    from aiusage.db import dispose_engine, session_scope
    from aiusage.money import usd_to_nano
    from aiusage.services import accounts, billing, keys

    async with session_scope() as session:
        user = await accounts.create_user(
            session, "bench@example.com", secrets.token_urlsafe(16), verified=True
        )
        await billing.grant(session, user.id, usd_to_nano(GRANT_USD), "benchmark credit")
        _, plaintext = await keys.create_proxy_key(session, user.id, "bench")
        if key_source == "byok":
            token = secrets.token_urlsafe(30).replace("-", "x")
            await keys.set_provider_key(session, user.id, "anthropic", "sk-ant-bench" + token)
            await keys.set_provider_key(session, user.id, "openai", "sk-bench" + token)
        user_id = user.id
    await dispose_engine()
    assert user_id is not None
    return user_id, plaintext


def make_env(workdir: Path, key_source: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIUSAGE_", "REFLEX_"))}
    env.update(
        {
            "AIUSAGE_DATA_DIR": str(workdir / "data"),
            "AIUSAGE_ENCRYPTION_KEY": "b1:"
            + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "AIUSAGE_SECRET_KEY": secrets.token_urlsafe(32),
            "AIUSAGE_SITE_URL": "http://127.0.0.1:3000",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if key_source == "platform":
        env["AIUSAGE_PLATFORM_ANTHROPIC_KEY"] = "sk-ant-platform-" + secrets.token_hex(16)
        env["AIUSAGE_PLATFORM_OPENAI_KEY"] = "sk-platform-" + secrets.token_hex(16)
    return env


# --- the runs -----------------------------------------------------------------------------


def scenario_matrix(rig: Rig) -> list[dict[str, Any]]:
    a = rig.args
    kinds = [kind_from_name(k) for k in a.kinds.split(",")]
    rows = []
    for concurrency in a.concurrency:
        for kind in kinds:
            row: dict[str, Any] = {
                "kind": kind.name,
                "stream": kind.stream,
                "concurrency": concurrency,
                "max_seconds": a.max_seconds,
            }
            for target in ("direct", "proxy"):
                row[target] = rig.load(
                    target,
                    [kind],
                    concurrency,
                    a.requests,
                    warmup=a.warmup,
                    max_seconds=a.max_seconds,
                )
            row["added"] = added(row["direct"], row["proxy"])
            rows.append(row)
            print_row(row)
    return rows


def added(direct: dict[str, Any], proxy: dict[str, Any]) -> dict[str, float]:
    out = {}
    for metric in ("latency_ms", "ttfb_ms"):
        for q in ("p50", "p99", "mean"):
            out[f"{metric.removesuffix('_ms')}_{q}_ms"] = proxy[metric][q] - direct[metric][q]
    return out


def rss_run(rig: Rig) -> dict[str, Any]:
    """Mixed traffic (all four kinds) at concurrency 32; RSS sampled every --rss-every."""
    a = rig.args
    every = a.rss_every or max(1000, a.rss_requests // 20)
    samples: list[dict[str, Any]] = []

    def take(n: int) -> None:
        s = rig.proxy_sample()
        samples.append(
            {
                "requests": n,
                "rss_mib": round(s.rss_total / 2**20, 2),
                "per_process_mib": {str(p): round(b / 2**20, 2) for p, b in s.rss.items()},
            }
        )
        print(f"  rss after {n:>7} requests: {s.rss_total / 2**20:8.1f} MiB", flush=True)

    started = time.monotonic()
    result = rig.load(
        "proxy",
        list(ALL_KINDS),
        32,
        a.rss_requests,
        warmup=a.warmup,
        progress_every=every,
        on_progress=take,
        on_ready=lambda: take(0),
    )
    warm = next((s for s in samples if s["requests"] >= a.rss_requests * 0.1), samples[0])
    last = samples[-1]
    growth = (last["rss_mib"] - warm["rss_mib"]) * 2**20
    flat = growth <= max(RSS_FLAT_MIN_BYTES, RSS_FLAT_TOLERANCE * warm["rss_mib"] * 2**20)
    half = [s for s in samples if s["requests"] >= a.rss_requests / 2]
    slope = _slope([(s["requests"], s["rss_mib"]) for s in half]) * 10_000 * 1024
    return {
        "requests": a.rss_requests,
        "wall_s": time.monotonic() - started,
        "samples": samples,
        "warm_rss_mib": warm["rss_mib"],
        "final_rss_mib": last["rss_mib"],
        "growth_mib": growth / 2**20,
        "second_half_slope_kib_per_10k": slope,
        "flat": flat,
        "load": {k: result[k] for k in ("rps", "ok", "statuses", "latency_ms")},
    }


def _slope(points: list[tuple[float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0


def profile_run(rig: Rig, stamp: str) -> dict[str, Any] | None:
    """py-spy samples granian's processes while the generator loads the proxy."""
    a = rig.args
    py_spy = shutil.which("py-spy", path=str(BIN)) or shutil.which("py-spy")
    if py_spy is None:
        print("  py-spy is not installed: `.venv/bin/pip install py-spy` (profile skipped)")
        return None
    assert rig.proxy is not None
    out = RESULTS / f"profile-{stamp}.txt"
    kinds = [kind_from_name(k) for k in a.profile_kinds.split(",")]
    spy: subprocess.Popen[str] | None = None

    def start_spy() -> None:
        nonlocal spy
        assert rig.proxy is not None
        spy = subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(rig.proxy.pid),
                "--subprocesses",
                "--rate",
                str(a.profile_rate),
                "--format",
                "raw",
                "--output",
                str(out),
                *(["--gil"] if a.profile_gil else []),
                *(["--native"] if a.profile_native else ["--nonblocking"]),
            ],
            stdout=rig.log("py-spy.log"),
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=pinned(rig.placement.rig),
        )
        time.sleep(1.0)  # py-spy attaches to every worker before the load starts

    result = rig.load(
        "proxy",
        kinds,
        a.profile_concurrency,
        a.profile_requests,
        warmup=a.warmup,
        on_ready=start_spy,
    )
    if spy is None:
        return None
    spy.send_signal(signal.SIGINT)
    try:
        spy.wait(30)
    except subprocess.TimeoutExpired:
        spy.kill()
    if not out.exists():
        print(f"  py-spy wrote no profile (see {rig.workdir / 'py-spy.log'})")
        return None
    found = hotspots.analyse(out, top=15)
    print(hotspots.render(found))
    return {
        "file": str(out.relative_to(ROOT)),
        "kinds": [k.name for k in kinds],
        "concurrency": a.profile_concurrency,
        "requests": a.profile_requests,
        "rps_while_profiled": result["rps"],
        "proxy_cpu_ms_per_request_while_profiled": result["proxy_cpu_ms_per_request"],
        "gil_only": a.profile_gil,
        "native": a.profile_native,
        "hotspots": found.as_dict(),
    }


# --- reporting ----------------------------------------------------------------------------

HEADER = (
    f"{'scenario':<18}{'conc':>5} | {'req/s':>7} {'req/s':>7} | {'p50':>6} {'p50':>6} "
    f"{'+p50':>6} | {'p99':>6} {'p99':>6} {'+p99':>6} | {'ttfb':>6} {'ttfb':>6} {'+ttfb':>6} "
    f"| {'CPU ms/req':>10} {'other':>6}\n"
    f"{'':<18}{'':>5} | {'direct':>7} {'proxy':>7} | {'direct':>6} {'proxy':>6} {'added':>6} "
    f"| {'direct':>6} {'proxy':>6} {'added':>6} | {'direct':>6} {'proxy':>6} {'added':>6} "
    f"| {'proxy':>10} {'load':>6}"
)


def print_row(row: dict[str, Any]) -> None:
    d, p, x = row["direct"], row["proxy"], row["added"]
    ttfb = (
        f"{d['ttfb_ms']['p50']:6.2f} {p['ttfb_ms']['p50']:6.2f} {x['ttfb_p50_ms']:+6.2f}"
        if row["stream"]
        else f"{'-':>6} {'-':>6} {'-':>6}"
    )
    bad = "" if p["ok"] == p["sent"] else f"  !! {p['statuses']}"
    if p["cut_short"] or d["cut_short"]:
        bad += f"  (cut at {row['max_seconds']:g} s: {d['sent']} direct, {p['sent']} proxied)"
    print(
        f"{row['kind']:<18}{row['concurrency']:>5} | {d['rps']:7.0f} {p['rps']:7.0f} | "
        f"{d['latency_ms']['p50']:6.2f} {p['latency_ms']['p50']:6.2f} {x['latency_p50_ms']:+6.2f} "
        f"| {d['latency_ms']['p99']:6.2f} {p['latency_ms']['p99']:6.2f} "
        f"{x['latency_p99_ms']:+6.2f} | {ttfb} | {p['proxy_cpu_ms_per_request']:10.2f} "
        f"{p['foreign_cpu_share_on_proxy_cpus']:6.0%}{bad}",
        flush=True,
    )


def print_threads(rows: list[dict[str, Any]]) -> None:
    print(
        f"\nproxy CPU ms/request by thread: {'event loop':>10} {'granian':>8} {'other':>6}"
        f" | {'kernel':>6}   (other: the SQLite lane, aiosqlite; kernel: system time of all)"
    )
    for row in rows:
        t = row["proxy"]["proxy_thread_cpu_ms_per_request"]
        print(
            f"  {row['kind']:<18}c={row['concurrency']:<4}         {t.get('main', 0):10.2f} "
            f"{t.get('tokio', 0):8.2f} {t.get('other', 0):6.2f} | "
            f"{row['proxy']['proxy_sys_cpu_ms_per_request']:6.2f}"
            + (
                f"   PostgreSQL {row['proxy']['db_cpu_ms_per_request']:.2f}"
                if "db_cpu_ms_per_request" in row["proxy"]
                else ""
            )
        )


def check_targets(rows: list[dict[str, Any]], rss: dict[str, Any] | None) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []

    def add(name: str, value: float, target: float, ok: bool, unit: str) -> None:
        checks.append(
            {"target": name, "measured": round(value, 3), "goal": target, "unit": unit, "met": ok}
        )

    for row in rows:
        name, conc, p, x = row["kind"], row["concurrency"], row["proxy"], row["added"]
        if not row["stream"]:
            cpu = p["proxy_cpu_ms_per_request"]
            add(f"CPU per request, {name} c={conc}", cpu, TARGET_CPU_MS, cpu <= TARGET_CPU_MS, "ms")
        if conc == 1:
            v = x["latency_p50_ms"]
            add(f"added p50, {name} c=1", v, TARGET_ADDED_P50_MS, v <= TARGET_ADDED_P50_MS, "ms")
            if row["stream"]:
                v = x["ttfb_p50_ms"]
                add(
                    f"added TTFB p50, {name} c=1",
                    v,
                    TARGET_ADDED_TTFB_MS,
                    v <= TARGET_ADDED_TTFB_MS,
                    "ms",
                )
        if conc == 32 and not row["stream"]:
            add(f"throughput, {name} c=32", p["rps"], TARGET_RPS, p["rps"] >= TARGET_RPS, "req/s")
    if rss is not None:
        add(
            f"RSS growth over {rss['requests']} requests",
            rss["growth_mib"],
            0.0,
            rss["flat"],
            "MiB",
        )
    return checks


def machine_info() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = bool(
        subprocess.run(
            ["git", "status", "--porcelain", "aiusage"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    )
    versions = {}
    for dist in ("granian", "httpx", "httpcore", "sqlalchemy", "aiosqlite", "starlette"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[dist] = version(dist)
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "commit": commit + ("+uncommitted" if dirty else ""),
        "versions": versions,
    }


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.proxy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--requests", type=int, default=2000, help="measured requests per run")
    p.add_argument("--warmup", type=int, default=200, help="unmeasured requests before each run")
    p.add_argument(
        "--max-seconds",
        type=float,
        default=15,
        help="cap on each measured run (keeps the whole run under ~5 minutes when the proxy "
        "is slow; the runs report how many requests they sent); 0 = no cap",
    )
    p.add_argument(
        "--concurrency",
        type=lambda s: [int(c) for c in s.split(",")],
        default=[1, 32],
        help="comma-separated connection counts (default 1,32)",
    )
    p.add_argument(
        "--kinds",
        default=",".join(k.name for k in ALL_KINDS),
        help="comma-separated: anthropic, anthropic-stream, openai, openai-stream,"
        " responses, responses-stream",
    )
    p.add_argument(
        "--body-kb", type=float, default=2, help="request body size (100 = Claude Code-sized)"
    )
    p.add_argument("--workers", type=int, default=1, help="granian workers")
    p.add_argument(
        "--database",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="postgres: a throw-away server of Debian's postgresql (as tests/helpers/pg.py), on the"
        " rig's CPU",
    )
    p.add_argument(
        "--key-source",
        choices=("byok", "platform"),
        default="byok",
        help="user's own provider keys (decrypted per request) or the platform's",
    )
    p.add_argument("--deltas", type=int, default=20, help="content deltas per streamed reply")
    p.add_argument("--reply-words", type=int, default=80, help="words in each reply")
    p.add_argument(
        "--rss-requests",
        type=int,
        default=0,
        help="also run this many mixed requests at c=32 and sample the proxy's RSS",
    )
    p.add_argument("--rss-every", type=int, default=0, help="RSS sample interval (requests)")
    p.add_argument("--profile", action="store_true", help="also profile the proxy with py-spy")
    p.add_argument("--profile-requests", type=int, default=6000)
    p.add_argument("--profile-concurrency", type=int, default=32)
    p.add_argument("--profile-rate", type=int, default=250, help="py-spy samples per second")
    p.add_argument(
        "--profile-all-threads",
        dest="profile_gil",
        action="store_false",
        help="sample every running thread, not only the one holding the GIL (default: GIL "
        "holder only, i.e. Python CPU time; with one pinned core, runnable threads waiting "
        "for the CPU would otherwise count as busy)",
    )
    p.add_argument(
        "--profile-native",
        action="store_true",
        help="include native (C/Rust) frames; pauses the proxy at each sample",
    )
    p.add_argument(
        "--profile-kinds", default="anthropic,openai", help="request kinds sent while profiling"
    )
    p.add_argument(
        "--only-extras",
        action="store_true",
        help="skip the scenario matrix (just --rss-requests / --profile)",
    )
    p.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="do not pin the proxy and the rig to separate CPUs",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    p.add_argument("--output", type=Path, help="JSON results file (default bench/results/...)")
    return p.parse_args(argv)


@contextlib.contextmanager
def workdir(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="aiusage-bench-"))
    try:
        yield path
    finally:
        if keep:
            print(f"data and logs kept in {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def postgres(wanted: bool) -> Iterator[Any]:
    """A throw-away PostgreSQL server (tests/helpers/pg.py: its own data directory, fsync off), or
    None."""
    if not wanted:
        yield None
        return
    from tests.helpers.pg import PostgresServer

    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks: servers are stopped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    now = dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y%m%d-%H%M%S")
    placement = Placement.choose(args.pin)
    if placement.rig:
        os.sched_setaffinity(0, placement.rig)
    RESULTS.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "date": now.isoformat(timespec="seconds"),
        "command": "python -m bench.proxy " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine_info(),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "placement": {
            "proxy_cpus": sorted(placement.proxy or []),
            "rig_cpus": sorted(placement.rig or []),
        },
    }
    with workdir(args.keep) as wd, postgres(args.database == "postgres") as pg:
        env = make_env(wd, args.key_source)
        rig = Rig(args, placement, wd, env)
        if pg is not None:
            rig.db_url = pg.create_database("bench")
            env["AIUSAGE_DATABASE_URL"] = rig.db_url
            rig.db_pid = int((pg.data / "postmaster.pid").read_text().split()[0])
        os.environ.update(env)  # this process creates the account through the services
        try:
            rig.start()
            assert rig.proxy is not None
            report["proxy_processes"] = {
                str(p): procs.cmdline(p)[:120] for p in procs.tree(rig.proxy.pid)
            }
            idle0 = rig.proxy_sample()
            time.sleep(1.0)
            idle1 = rig.proxy_sample()
            report["proxy_idle_cpu_ms_per_s"] = (idle1.cpu_s - idle0.cpu_s) * 1000
            report["proxy_rss_start_mib"] = idle1.rss_total / 2**20
            print(
                f"proxy on CPU {sorted(placement.proxy or [])}, fake+generator on "
                f"{sorted(placement.rig or [])}; {args.workers} worker(s), "
                f"{args.key_source} keys, ~{args.body_kb:g} KB bodies, "
                f"{args.requests} requests per run (+{args.warmup} warm-up)\n",
                flush=True,
            )
            rows: list[dict[str, Any]] = []
            if not args.only_extras:
                print(HEADER, flush=True)
                rows = scenario_matrix(rig)
                print_threads(rows)
            report["scenarios"] = rows
            rss = None
            if args.rss_requests:
                print(f"\nRSS over {args.rss_requests} mixed requests at c=32:", flush=True)
                rss = rss_run(rig)
                print(
                    f"  warm {rss['warm_rss_mib']:.1f} MiB -> final {rss['final_rss_mib']:.1f} "
                    f"MiB ({rss['growth_mib']:+.1f} MiB): "
                    f"{'flat' if rss['flat'] else 'GROWING'}",
                    flush=True,
                )
            report["rss"] = rss
            if args.profile:
                print(
                    f"\nprofile ({args.profile_requests} requests, "
                    f"{args.profile_kinds}, c={args.profile_concurrency}):",
                    flush=True,
                )
                report["profile"] = profile_run(rig, stamp)
            rig.drain()
            rows_written = rig.usage_rows()
            report["usage_check"] = {
                "proxied_requests": rig.proxied,
                "usage_rows": rows_written,
                "equal": rows_written == rig.proxied,
                **rig.account(),
            }
        finally:
            rig.close()
    checks = check_targets(report["scenarios"], report.get("rss"))
    report["targets"] = checks
    report["runtime_s"] = round(time.monotonic() - started, 1)
    out = args.output or RESULTS / f"proxy-{stamp}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")

    u = report["usage_check"]
    print(
        f"\nusage rows: {u['usage_rows']} written for {u['proxied_requests']} proxied requests "
        f"({'OK' if u['equal'] else 'MISMATCH'}); held after drain: {u['held_nano']} nano-USD"
    )
    if checks:
        print(f"\ntargets ({args.workers} worker(s), {args.database}):")
        for c in checks:
            print(
                f"  {'met ' if c['met'] else 'MISS'}  {c['target']:<44} "
                f"{c['measured']:>9.2f} {c['unit']} (goal {c['goal']:g})"
            )
    print(
        f"\nresults: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}"
        f"  ({report['runtime_s']} s)"
    )
    ok = (
        u["equal"]
        and u["held_nano"] == 0
        and all(r["proxy"]["ok"] == r["proxy"]["sent"] for r in report["scenarios"])
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
