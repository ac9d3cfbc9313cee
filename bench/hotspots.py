"""Top CPU hotspots from a py-spy "raw" (collapsed stacks) profile.

Each line of the file is `frame;frame;...;leaf COUNT`, a frame `function (file:line)`.
Self time counts the leaf frame. Project time counts each aiusage function once per stack
(inclusive). Call sites charge a whole stack to the deepest aiusage frame and the library
function it called there: "what does this line of ours cost, with everything under it".

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


@dataclass
class Hotspots:
    samples: int
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


def analyse(path: Path, top: int = 10) -> Hotspots:
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
        frames = [f for f in stack.split(";") if f]
        # py-spy puts the process and thread as the first frames: skip non-code frames.
        frames = [f for f in frames if "(" in f and not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        names = [_name(f) for f in frames]
        leaf, package = names[-1]
        self_time[leaf] += count
        packages[package] += count
        for name in {n for n, p in names if _ours(n, p)}:
            inclusive[name] += count
        ours = [i for i, (n, p) in enumerate(names) if _ours(n, p)]
        if ours:
            i = ours[-1]
            site = _name(frames[i], line=True)[0]
            callee = names[i + 1][0] if i + 1 < len(names) else "(own code)"
            call_sites[f"{site} -> {callee}"] += count
        else:
            call_sites[f"(no project frame) {names[-1][0]}"] += count
    return Hotspots(
        total,
        self_time.most_common(top),
        inclusive.most_common(top),
        call_sites.most_common(top),
        packages.most_common(top),
    )


def render(h: Hotspots) -> str:
    lines = [f"{h.samples} samples"]
    for title, items in (
        ("self time (leaf function)", h.self_time),
        ("inclusive time in project code", h.inclusive),
        ("call site (deepest project frame -> callee, inclusive)", h.call_sites),
        ("self time by package", h.by_package),
    ):
        lines.append(f"\n  top {len(items)} by {title}:")
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
