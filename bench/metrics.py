"""What the Prometheus metrics cost a proxied request: `ProxyCall.observe` (its labels, the
request counter, the duration and time-to-first-byte histograms) in a loop, per process and
in prometheus-client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR).

    .venv/bin/python -m bench.metrics [--n 200000] [--repeat 5]

Each case runs in a fresh process; the figure is CPU time per call (the machine is shared:
wall time would count other programs' turns), the best of `--repeat` runs."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(n: int, repeat: int) -> dict[str, float]:
    from aiusage.observability import metrics
    from aiusage.proxy.app import ROUTES
    from aiusage.proxy.handler import ProxyCall
    from aiusage.proxy.relay import RelayOutcome
    from aiusage.proxy.runtime import runtime

    scope = {"type": "http", "method": "POST", "path": "/api/v1/messages", "headers": []}
    answered = ProxyCall(runtime, ROUTES["/api/v1/messages"], scope)
    answered.forwarded = True
    answered.outcome = RelayOutcome(status=200, first_byte_at=answered.started + 0.4)
    refused = ProxyCall(runtime, ROUTES["/api/v1/chat/completions"], scope)
    cases = {
        "observe, a relayed answer (counter + 2 histograms)": lambda: answered.observe(0),
        "observe, a refusal (401: counter only)": lambda: refused.observe(401),
        "record_request alone": lambda: metrics.record_request(
            "anthropic",
            "/v1/messages",
            200,
            forwarded=True,
            seconds=0.8,
            ttfb=0.4,
            error_type=None,
            upstream_status=200,
        ),
        "ProxyCall() itself, for scale": lambda: ProxyCall(
            runtime, ROUTES["/api/v1/messages"], scope
        ),
    }
    return {
        name: min(timeit.repeat(case, number=n, repeat=repeat, timer=time.process_time)) / n * 1e6
        for name, case in cases.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        print(json.dumps(measure(args.n, args.repeat)))
        return
    with tempfile.TemporaryDirectory() as scratch:
        base = {
            **os.environ,
            "AIUSAGE_DATA_DIR": scratch,  # development secrets go there, not into ./data
            "PYTHONPATH": str(ROOT),
        }
        base.pop("PROMETHEUS_MULTIPROC_DIR", None)
        multiproc = Path(scratch) / "prometheus"
        multiproc.mkdir()
        modes = {
            "per process": base,
            "multiprocess": {**base, "PROMETHEUS_MULTIPROC_DIR": str(multiproc)},
        }
        for mode, env in modes.items():
            out = subprocess.run(
                [sys.executable, "-m", "bench.metrics", "--inner", f"--n={args.n}",
                 f"--repeat={args.repeat}"],
                env=env, cwd=ROOT, capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            print(f"{mode}:")
            for name, micros in json.loads(out.splitlines()[-1]).items():
                print(f"  {micros:6.2f} µs CPU  {name}")


if __name__ == "__main__":
    main()
