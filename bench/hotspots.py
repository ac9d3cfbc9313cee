"""Top CPU hotspots from a py-spy "raw" (collapsed stacks) profile.

Each line of the file is `frame;frame;...;leaf COUNT`, a frame `function (file:line)`.

Views:
- activity: every stack charged to one step of a proxied request (see ACTIVITIES), the
  view to plan work with;
- self time: the leaf function (where the interpreter actually was);
- project inclusive: each aiusage function once per stack, with everything it called;
- call sites: the whole stack charged to the deepest aiusage frame (with its line) and the
  library function it called there. Stacks without an aiusage frame (SQLAlchemy runs its
  sync half in greenlets, whose stacks start afresh; event-loop callbacks) are keyed by
  their first frame after the event loop / thread machinery.

    python -m bench.hotspots bench/results/profile-....txt --top 15
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
_SITE = re.compile(r".*/(?:site|dist)-packages/")

# (activity, patterns): the first activity with a pattern found in the stack wins. Order
# matters: project frames first, then greenlet roots SQLAlchemy leaves without them.
ACTIVITIES: list[tuple[str, tuple[str, ...]]] = [
    ("DB: balance hold before forwarding (place_holds)", ("place_holds (",)),
    (
        "DB: usage writer (usage row, ledger row, balance, key spend)",
        ("write_batch (", "UsageWriter.", "book (aiusage"),
    ),
    ("DB: key cache / price book reloads", ("KeyCache.", "PriceBook.", "ProxyRuntime.price")),
    # Greenlet roots: place_holds uses a Core connection, everything else an ORM session.
    (
        "DB: balance hold before forwarding (place_holds)",
        (
            "Connection.execute (sqlalchemy/engine",
            "Connection.begin (",
            "Connection.commit (",
            "Transaction.commit (",
            "Connection._commit_impl",
            "AsyncConnection.",
        ),
    ),
    (
        "DB: usage writer (usage row, ledger row, balance, key spend)",
        (
            "Session.flush (",
            "Session.execute (",
            "Session.commit (",
            "Session.add",
            "SessionTransaction.",
            "Session._autobegin",
            "UsageRecord",
            "LedgerEntry",
        ),
    ),
    ("aiosqlite thread hand-off (queue, worker thread, call_soon_threadsafe)", ("aiosqlite/",)),
    ("SQLAlchemy, not attributed", ("sqlalchemy/", "greenlet")),
    ("provider key decryption (open_sealed)", ("open_sealed (",)),
    (
        "upstream HTTP client (httpx / httpcore / h11 / anyio)",
        ("httpx/", "httpcore/", "h11/", "anyio/"),
    ),
    (
        "relaying the response (metering, ASGI send to granian)",
        ("relay_body", "relay_stream", "guarded_send", "Meter.", "SSESplitter"),
    ),
    (
        "request handling (routing, auth, body, JSON, settle)",
        ("aiusage/proxy/", "aiusage/services/"),
    ),
    ("event loop and self-pipe wake-ups (asyncio)", ("asyncio/", "selectors.py")),
]
_MACHINERY = (
    "multiprocessing/",
    "granian/server/",
    "threading.py",
    "aiusage/cli",
    "<module> (",
    "asyncio/base_events.py",
    "asyncio/events.py",
    "asyncio/runners.py",
)


@dataclass
class Hotspots:
    samples: int
    activities: list[tuple[str, int]]
    self_time: list[tuple[str, int]]  # function, samples
    inclusive: list[tuple[str, int]]  # project (aiusage) functions, inclusive
    call_sites: list[tuple[str, int]]  # deepest project frame -> callee, inclusive
    by_package: list[tuple[str, int]]  # self time grouped by top-level package

    def as_dict(self) -> dict[str, object]:
        def rows(items: list[tuple[str, int]]) -> list[dict[str, object]]:
            return [
                {"name": n, "samples": c, "percent": round(100 * c / max(self.samples, 1), 1)}
                for n, c in items
            ]

        return {
            "samples": self.samples,
            "activities": rows(self.activities),
            "self": rows(self.self_time),
            "inclusive_project": rows(self.inclusive),
            "call_sites": rows(self.call_sites),
            "by_package": rows(self.by_package),
        }


def _short(file: str) -> str:
    file = _SITE.sub("", file)
    file = re.sub(r".*/lib/python3\.\d+/", "stdlib/", file)
    return re.sub(r".*/work/main/", "", file)


def _name(frame: str, line: bool = False) -> tuple[str, str]:
    """('function (file)', package) for one frame; line numbers only if asked."""
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip(), "?"
    file = _short(m["file"])
    package = file.split("/")[0].removesuffix(".py")
    if package == "stdlib":
        package = "stdlib:" + file.split("/")[1].removesuffix(".py")
    where = f"{file}:{m['line']}" if line and m["line"] else file
    return f"{m['func']} ({where})", package


def _ours(name: str, package: str) -> bool:
    """A project frame on the request path (not the CLI that started the server)."""
    return package == "aiusage" and not name.startswith("<module>") and "aiusage/cli" not in name


def activity(names: list[str]) -> str:
    stack = ";".join(names)
    for label, patterns in ACTIVITIES:
        if any(p in stack for p in patterns):
            return label
    return "other"


def analyse(path: Path, top: int = 10) -> Hotspots:
    activities: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    call_sites: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        # py-spy puts the process (and, if asked, the thread) first: keep code frames only.
        frames = [
            f for f in stack.split(";") if "(" in f and not f.startswith(("process ", "thread "))
        ]
        if not frames:
            continue
        total += count
        named = [_name(f) for f in frames]
        names = [n for n, _ in named]
        leaf, package = named[-1]
        self_time[leaf] += count
        packages[package] += count
        activities[activity(names)] += count
        for name in {n for n, p in named if _ours(n, p)}:
            inclusive[name] += count
        ours = [i for i, (n, p) in enumerate(named) if _ours(n, p)]
        if ours:
            i = ours[-1]
            site = _name(frames[i], line=True)[0]
            callee = names[i + 1] if i + 1 < len(names) else "(own code)"
            call_sites[f"{site} -> {callee}"] += count
        else:
            root = next((n for n in names if not any(m in n for m in _MACHINERY)), names[-1])
            call_sites[f"(no project frame) {root}"] += count
    return Hotspots(
        total,
        activities.most_common(),
        self_time.most_common(top),
        inclusive.most_common(top),
        call_sites.most_common(top),
        packages.most_common(top),
    )


def render(h: Hotspots) -> str:
    lines = [f"{h.samples} samples"]
    for title, items in (
        ("activity (a whole request's steps)", h.activities),
        ("self time (leaf function)", h.self_time),
        ("inclusive time in project code", h.inclusive),
        ("call site (deepest project frame -> callee, inclusive)", h.call_sites),
        ("self time by package", h.by_package),
    ):
        lines.append(f"\n  by {title}:")
        for name, count in items:
            lines.append(f"  {100 * count / max(h.samples, 1):5.1f}%  {name}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("profile", type=Path)
    p.add_argument("--top", type=int, default=15)
    args = p.parse_args()
    print(render(analyse(args.profile, args.top)))


if __name__ == "__main__":
    main()
