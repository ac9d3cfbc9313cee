"""Markdown tables from a `bench.proxy` results file (for bench/README.md).

python -m bench.report bench/results/proxy-YYYYmmdd-HHMMSS.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def matrix(report: dict[str, Any]) -> str:
    lines = [
        "| scenario | conc | req/s direct | req/s proxy | p50 direct | p50 proxy | added p50 "
        "| added p99 | added TTFB p50 | proxy CPU ms/req (loop / granian / other / of which "
        "kernel) | other load |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in report["scenarios"]:
        d, p, x = row["direct"], row["proxy"], row["added"]
        t = p["proxy_thread_cpu_ms_per_request"]
        ttfb = f"{x['ttfb_p50_ms']:+.2f}" if row["stream"] else "-"
        lines.append(
            f"| {row['kind']} | {row['concurrency']} | {d['rps']:,.0f} | {p['rps']:,.0f} "
            f"| {d['latency_ms']['p50']:.2f} | {p['latency_ms']['p50']:.2f} "
            f"| {x['latency_p50_ms']:+.2f} | {x['latency_p99_ms']:+.2f} | {ttfb} "
            f"| **{p['proxy_cpu_ms_per_request']:.2f}** ({t['main']:.2f} / {t['tokio']:.2f} / "
            f"{t['other']:.2f} / {p['proxy_sys_cpu_ms_per_request']:.2f}) "
            f"| {p['foreign_cpu_share_on_proxy_cpus']:.0%} |"
        )
    return "\n".join(lines)


def targets(report: dict[str, Any]) -> str:
    lines = ["| target | measured | goal | met |", "| --- | ---: | ---: | --- |"]
    for c in report["targets"]:
        lines.append(
            f"| {c['target']} | {c['measured']:,.2f} {c['unit']} | {c['goal']:g} "
            f"| {'yes' if c['met'] else '**no**'} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("results", type=Path)
    args = p.parse_args()
    report = json.loads(args.results.read_text())
    print(f"{report['date']}, commit {report['machine']['commit']}, `{report['command']}`\n")
    if report.get("scenarios"):
        print(matrix(report) + "\n")
    if report.get("targets"):
        print(targets(report) + "\n")
    u = report.get("usage_check")
    if u:
        print(
            f"Usage rows: {u['usage_rows']:,} for {u['proxied_requests']:,} proxied requests; "
            f"held after drain: {u['held_nano']}."
        )


if __name__ == "__main__":
    main()
