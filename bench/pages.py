"""Page timings of the dashboard in a real browser.

    .venv/bin/python -m bench.pages [--runs 5] [--pages usage,overview] [--baseline REF]

Starts the app as it runs in production (`reflex run --env prod`, frontend and backend on
one port) on a throw-away SQLite database, seeds a user with 30 days of usage (rows and
hourly rollups written the way the proxy's writer writes them), then opens each dashboard
page and the landing page in Debian's chromium (Playwright's async API, never
`playwright install`) and measures, from the start of navigation:

- data: the page's own numbers are on screen (the state arrived and React drew it);
- charts: every chart of the page has drawn its bars or lines (pages with charts);
- busy: main-thread time in long tasks (> 50 ms) until then, what delays a click;
- JS: script bytes transferred and decoded.

Each page is loaded `--runs` times cold (a fresh browser context: empty HTTP cache, the
session cookie added) and as many times warm (a reload in that context), after one
unrecorded pass over all pages. Medians are printed; every run goes to
bench/results/pages-<time>.json (git-ignored).

`--baseline REF` also serves the commit REF (`git archive`, built on its own, on the same
database) and loads its pages in turn with this tree's, alternating which goes first: on a
machine whose other load comes and goes, only such interleaved runs compare fairly."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DAYS = 30
MODELS = [
    ("anthropic", "claude-sonnet-4-5", 3_000_000),
    ("anthropic", "claude-haiku-4-5", 800_000),
    ("openai", "gpt-5", 2_000_000),
]
# A chart is drawn once plotly has put bars/markers (or its empty-state note) in its SVG.
DRAWN = "id => { const el = document.getElementById(id); return !!el && !!el.querySelector("
DRAWN += "'.main-svg .point, .main-svg .js-line, .main-svg .annotation-text'); }"


@dataclass(frozen=True)
class PageSpec:
    name: str
    path: str
    data: str  # a JS expression, true once the page's own data is on screen
    charts: tuple[str, ...] = ()
    signed_in: bool = True


def _text(selector: str, needle: str = "") -> str:
    return (
        f"((document.querySelector({json.dumps(selector)}) || {{}}).textContent || '')"
        f".includes({json.dumps(needle)}) && "
        f"!!(document.querySelector({json.dumps(selector)}) || {{}}).textContent"
    )


PAGES = [
    PageSpec("landing", "/", _text("h1"), (), False),
    PageSpec(
        "overview",
        "/dashboard",
        _text("#stat-balance", "$") + " && !!document.querySelector('#recent-table .usage-row')",
        ("overview-chart",),
    ),
    PageSpec(
        "usage",
        "/dashboard/usage",
        _text("#total-requests") + " && !!document.querySelector('#usage-table .usage-row')",
        ("spend-chart", "tokens-chart", "requests-chart", "latency-chart"),
    ),
    PageSpec("keys", "/dashboard/keys", "!!document.querySelector('.proxy-key-row')"),
    PageSpec(
        "connect",
        "/dashboard/connect",
        _text("#anthropic-base", "http") + " && !!document.querySelector('#connect-key')",
    ),
    PageSpec("billing", "/dashboard/billing", _text("#billing-balance", "$")),
    PageSpec("settings", "/dashboard/settings", _text("#settings-current-email", "@")),
]

# Runs in the page before its own scripts: checks the conditions every frame and keeps the
# first time each held, plus the long tasks.
PROBE = """
(() => {
  const data = () => (__DATA__);
  const charts = __CHARTS__;
  const drawn = __DRAWN__;
  const marks = (window.__benchMarks = {data: null, charts: null, longTasks: []});
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) marks.longTasks.push([e.startTime, e.duration]);
    }).observe({type: "longtask", buffered: true});
  } catch (e) {}
  const holds = (f) => { try { return !!f(); } catch (e) { return false; } };
  const tick = () => {
    const now = performance.now();
    if (marks.data === null && holds(data)) marks.data = now;
    if (marks.charts === null && charts.length && charts.every((id) => holds(() => drawn(id))))
      marks.charts = now;
    const pending = marks.data === null || (charts.length && marks.charts === null);
    if (pending) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""


def probe(page: PageSpec) -> str:
    return (
        PROBE.replace("__DATA__", page.data)
        .replace("__CHARTS__", json.dumps(list(page.charts)))
        .replace("__DRAWN__", DRAWN)
    )


COLLECT = """
() => {
  const m = window.__benchMarks || {};
  const scripts = performance.getEntriesByType("resource")
    .filter((e) => new URL(e.name).pathname.endsWith(".js"))
    .map((e) => ({url: new URL(e.name).pathname, transfer: e.transferSize,
                  decoded: e.decodedBodySize, end: e.responseEnd}));
  return {data: m.data, charts: m.charts, longTasks: m.longTasks || [], scripts};
}
"""


# --- the app ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_env(workdir: Path) -> dict[str, str]:
    """One database and one set of secrets for every server of the run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIUSAGE_", "REFLEX_"))}
    env.update(
        {
            "AIUSAGE_DATA_DIR": str(workdir / "data"),
            "AIUSAGE_ENCRYPTION_KEY": "b1:"
            + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "AIUSAGE_SECRET_KEY": secrets.token_urlsafe(32),
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@dataclass
class Server:
    name: str  # "tree" (this working tree) or the baseline's ref
    source: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def baseline_source(ref: str, into: Path) -> Path:
    """The files of commit `ref` (nothing in the repository is touched)."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def start_app(server: Server, env: dict[str, str], workdir: Path, timeout: float = 900) -> None:
    """`reflex run --env prod` on one port, returned once the page bundle is served."""
    log = workdir / f"app-{server.name}.log"
    env = {
        **env,
        "AIUSAGE_SITE_URL": server.url,
        # Its own frontend build, so a bench never shares a .web with a test session.
        "REFLEX_WEB_WORKDIR": str(workdir / f"web-{server.name}"),
        "REFLEX_STATES_WORKDIR": str(workdir / f"states-{server.name}"),
    }
    ports = ["--frontend-port", str(server.port), "--backend-port", str(server.port)]
    process = server.process = subprocess.Popen(
        [str(BIN / "reflex"), "run", "--env", "prod", "--loglevel", "info", *ports],
        cwd=server.source,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited early; see {log}")
        with contextlib.suppress(httpx.HTTPError):
            healthy = httpx.get(server.url + "/api/health", timeout=2).status_code == 200
            if healthy and httpx.get(server.url + "/", timeout=5).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"the app did not come up in {timeout:.0f}s; see {log}")


def stop_app(server: Server) -> None:
    process = server.process
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


async def seed(per_day: int) -> str:
    """A user with credit, two keys and `DAYS` days of usage; returns a session token."""
    from aiusage.db import dispose_engine, session_scope
    from aiusage.models import UsageRecord
    from aiusage.money import usd_to_nano
    from aiusage.proxy.rollups import add_rollups
    from aiusage.services import accounts, billing, keys, sessions

    rng = random.Random(16)
    now = dt.datetime.now(dt.UTC)
    async with session_scope() as db:
        user = await accounts.create_user(
            db, "pages@example.com", secrets.token_urlsafe(16), verified=True
        )
        await billing.grant(db, user.id, usd_to_nano("250"), "benchmark credit")
        key_ids = []
        for name in ("laptop", "ci"):
            key, _ = await keys.create_proxy_key(db, user.id, name)
            key_ids.append(key.id)
        records = []
        for day in range(DAYS):
            for _ in range(per_day):
                provider, model, rate = rng.choice(MODELS)
                inp, out = rng.randint(200, 20_000), rng.randint(20, 2_000)
                cost = (inp + 4 * out) * rate // 1_000
                error = rng.random() < 0.04
                records.append(
                    UsageRecord(
                        request_id=secrets.token_hex(12),
                        created_at=now - dt.timedelta(days=day, seconds=rng.randint(0, 86_000)),
                        user_id=user.id,
                        proxy_key_id=rng.choice(key_ids),
                        provider=provider,
                        endpoint="/v1/messages",
                        model=model,
                        key_source="platform",
                        input_tokens=0 if error else inp,
                        output_tokens=0 if error else out,
                        cache_read_tokens=0 if error else rng.randint(0, inp),
                        cost_nano=0 if error else cost,
                        charged_nano=0 if error else cost * 105 // 100,
                        status=529 if error else 200,
                        latency_ms=rng.randint(300, 9_000),
                    )
                )
        db.add_all(records)
        await db.flush()
        columns = [c.name for c in UsageRecord.__table__.columns]
        await add_rollups(db, [{c: getattr(r, c) for c in columns} for r in records])
        token = await sessions.create_session(db, user, user_agent="bench.pages")
    await dispose_engine()
    return token


# --- the browser --------------------------------------------------------------------------


@dataclass
class Run:
    server: str
    page: str
    kind: str  # cold | warm
    data_ms: float | None
    charts_ms: float | None
    busy_ms: float
    js_transfer: int
    js_decoded: int
    scripts: list[dict[str, Any]] = field(default_factory=list)
    long_tasks: list[tuple[float, float]] = field(default_factory=list)  # (start, duration)


def _run_from(server: str, page: PageSpec, kind: str, raw: dict[str, Any]) -> Run:
    done = max(v for v in (raw["data"], raw["charts"], 0.0) if v is not None)
    # Long-task time up to the moment the page was complete: the main thread was not free.
    busy = sum(
        min(start + length, done) - start for start, length in raw["longTasks"] if start < done
    )
    return Run(
        server=server,
        page=page.name,
        kind=kind,
        data_ms=raw["data"],
        charts_ms=raw["charts"] if page.charts else None,
        busy_ms=busy,
        js_transfer=sum(s["transfer"] for s in raw["scripts"]),
        js_decoded=sum(s["decoded"] for s in raw["scripts"]),
        scripts=raw["scripts"],
        long_tasks=[(round(a), round(b)) for a, b in raw["longTasks"]],
    )


async def _measure(playwright_page, page: PageSpec, timeout_s: float) -> dict[str, Any]:
    ready = "() => window.__benchMarks && window.__benchMarks.data !== null"
    if page.charts:
        ready += " && window.__benchMarks.charts !== null"
    with contextlib.suppress(Exception):
        await playwright_page.wait_for_function(ready, timeout=timeout_s * 1000, polling=100)
    await asyncio.sleep(0.3)  # long tasks still running at that moment get reported
    return await playwright_page.evaluate(COLLECT)


async def _load(browser, server: Server, page: PageSpec, token: str, timeout_s: float):
    """One cold load (a fresh context) and one warm reload of `page` on `server`."""
    context = await browser.new_context(
        base_url=server.url, viewport={"width": 1280, "height": 900}
    )
    if page.signed_in:
        await context.add_cookies([{"name": "bai_session", "value": token, "url": server.url}])
    await context.add_init_script(probe(page))
    tab = await context.new_page()
    try:
        await tab.goto(page.path, wait_until="commit")
        cold = await _measure(tab, page, timeout_s)
        await tab.reload(wait_until="commit")
        warm = await _measure(tab, page, timeout_s)
    finally:
        await context.close()
    return _run_from(server.name, page, "cold", cold), _run_from(server.name, page, "warm", warm)


async def measure_pages(
    servers: list[Server], token: str, pages: list[PageSpec], runs: int, timeout_s: float
) -> list[Run]:
    from playwright.async_api import async_playwright

    results: list[Run] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            for attempt in range(runs + 1):  # the first pass warms the servers up, unrecorded
                for page in pages:
                    # Servers take turns going first, so neither always meets the same load.
                    turn = servers[attempt % len(servers) :] + servers[: attempt % len(servers)]
                    for server in turn:
                        cold, warm = await _load(browser, server, page, token, timeout_s)
                        if attempt:
                            results += [cold, warm]
                            print(
                                f"  run {attempt} {server.name:<8} {page.name:<9} {_brief(cold)}",
                                flush=True,
                            )
        finally:
            await browser.close()
    return results


def _brief(run: Run) -> str:
    def ms(value: float | None) -> str:
        return "   —" if value is None else f"{value:5.0f}"

    return (
        f"data {ms(run.data_ms)} ms  charts {ms(run.charts_ms)} ms  busy {run.busy_ms:4.0f} ms  "
        f"JS {run.js_transfer / 1024:6.0f} kB"
    )


# --- the report ---------------------------------------------------------------------------


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    if len(present) < len(values):  # a run that never got there is not a fast run
        return None
    return statistics.median(present) if present else None


def summarize(runs: list[Run], pages: list[PageSpec], server: str) -> list[dict[str, Any]]:
    rows = []
    runs = [r for r in runs if r.server == server]
    for page in pages:
        row: dict[str, Any] = {"server": server, "page": page.name, "path": page.path}
        for kind in ("cold", "warm"):
            mine = [r for r in runs if r.page == page.name and r.kind == kind]
            row[kind] = {
                "data_ms": _median([r.data_ms for r in mine]),
                "charts_ms": _median([r.charts_ms for r in mine]) if page.charts else None,
                "busy_ms": _median([r.busy_ms for r in mine]),
                "js_transfer_kb": _median([r.js_transfer / 1024 for r in mine]),
                "js_decoded_kb": _median([r.js_decoded / 1024 for r in mine]),
            }
        biggest = max(
            (s for r in runs if r.page == page.name for s in r.scripts),
            key=lambda s: s["decoded"],
            default=None,
        )
        row["largest_script"] = biggest and {"url": biggest["url"], "kb": biggest["decoded"] / 1024}
        rows.append(row)
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    def ms(value: float | None) -> str:
        return "—" if value is None else f"{value:.0f}"

    def kb(value: float | None) -> str:
        return "—" if value is None else f"{value:,.0f}"

    header = (
        "| server | page | cold: data ms | charts ms | busy ms | JS kB sent | JS kB decoded "
        "| warm: data ms | charts ms | busy ms | largest script kB |"
    )
    print("\n" + header + "\n|" + " --- |" * 11)
    for row in rows:
        c, w = row["cold"], row["warm"]
        big = row["largest_script"]
        print(
            f"| {row['server']} | {row['page']} | {ms(c['data_ms'])} | {ms(c['charts_ms'])} "
            f"| {ms(c['busy_ms'])} "
            f"| {kb(c['js_transfer_kb'])} | {kb(c['js_decoded_kb'])} | {ms(w['data_ms'])} "
            f"| {ms(w['charts_ms'])} | {ms(w['busy_ms'])} | {kb(big and big['kb'])} |"
        )


def machine_info() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "aiusage"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "load_avg": os.getloadavg(),
        "commit": commit + ("+uncommitted" if dirty else ""),
        "chromium": subprocess.run(
            [CHROMIUM, "--version"], capture_output=True, text=True
        ).stdout.strip(),
    }


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pages",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=5, help="recorded loads per page and kind")
    parser.add_argument("--per-day", type=int, default=40, help="seeded requests per day")
    parser.add_argument("--pages", default="", help="comma-separated page names (default all)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per page load")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--label", default="", help="a note stored with the results")
    parser.add_argument(
        "--baseline", default="", help="a git ref to serve too and compare with, interleaved"
    )
    return parser.parse_args(argv)


@contextlib.contextmanager
def workdir(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="aiusage-pages-"))
    try:
        yield path
    finally:
        if keep:
            print(f"work directory kept: {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks: the app is stopped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    wanted = {p for p in args.pages.split(",") if p}
    pages = [p for p in PAGES if not wanted or p.name in wanted]
    now = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()  # other work on the machine shows in every figure
    RESULTS.mkdir(parents=True, exist_ok=True)
    with workdir(args.keep) as wd:
        servers = [Server("tree", ROOT, free_port())]
        if args.baseline:
            source = baseline_source(args.baseline, wd / "baseline-src")
            servers.append(Server(args.baseline, source, free_port()))
        env = make_env(wd)
        os.environ.update(env)  # this process seeds the database through the services
        try:
            for server in servers:  # one after the other: two builds at once would crawl
                started = time.monotonic()
                print(f"building and starting {server.name} on {server.url} ...", flush=True)
                start_app(server, env, wd)
                print(f"  up in {time.monotonic() - started:.0f}s", flush=True)
            token = asyncio.run(seed(args.per_day))
            runs = asyncio.run(measure_pages(servers, token, pages, args.runs, args.timeout))
        finally:
            for server in servers:
                stop_app(server)
    rows = [row for server in servers for row in summarize(runs, pages, server.name)]
    print_table(rows)
    report = {
        "date": now.isoformat(timespec="seconds"),
        "label": args.label,
        "command": "python -m bench.pages " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": {**machine_info(), "load_avg_before": load_before},
        "seeded": {"days": DAYS, "requests_per_day": args.per_day},
        "pages": rows,
        "runs": [vars(r) for r in runs],
    }
    out = RESULTS / f"pages-{now:%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(report, indent=2))
    print(
        f"\nresults: {out}  (load average before {load_before[0]:.1f}, after "
        f"{os.getloadavg()[0]:.1f})"
    )
    with_charts = {p.name for p in pages if p.charts}
    incomplete = [
        r for r in runs if r.data_ms is None or (r.page in with_charts and r.charts_ms is None)
    ]
    return 1 if incomplete else 0


if __name__ == "__main__":
    raise SystemExit(main())
