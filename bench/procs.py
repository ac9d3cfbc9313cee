"""Reading a process tree's CPU time and memory from /proc (Linux only)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (which may contain spaces)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return raw[raw.rindex(")") + 2 :].split()


def children(pid: int) -> list[int]:
    """Direct children of `pid`, from every process's parent id."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        # After the name: state (0), ppid (1).
        if fields is not None and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants (granian's main process and its workers)."""
    out = [pid]
    i = 0
    while i < len(out):
        out.extend(children(out[i]))
        i += 1
    return out


def cpu_split(pid: int) -> tuple[float, float]:
    """(utime, stime) of one process (all its threads), in seconds."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0, 0.0
    # utime and stime are fields 14 and 15 of stat, i.e. 11 and 12 after the name.
    return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads), in seconds."""
    return sum(cpu_split(pid))


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of one process's threads, grouped: the main thread (granian runs the
    ASGI event loop there), granian's Rust threads (tokio), and other Python threads
    (aiosqlite runs one per open connection, plus any executor threads)."""
    groups: dict[str, float] = {"main": 0.0, "tokio": 0.0, "other": 0.0}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return groups
    for tid in tids:
        try:
            comm = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
            raw = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that ended; its time went to the process total
        fields = raw[raw.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        if int(tid) == pid:
            groups["main"] += seconds
        elif comm.startswith(("tokio", "granian")):
            groups["tokio"] += seconds
    # The rest, including threads that already ended (their time stays in the process's).
    groups["other"] = max(cpu_seconds(pid) - groups["main"] - groups["tokio"], 0.0)
    return groups


def cpu_busy_seconds(cpus: set[int]) -> float:
    """Busy time (all but idle and iowait) of these CPUs since boot, from /proc/stat."""
    busy = 0
    for line in Path("/proc/stat").read_text().splitlines():
        name = line.split(" ", 1)[0]
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
            values = [int(v) for v in line.split()[1:]]
            # user nice system idle iowait irq softirq steal (guest is inside user)
            busy += sum(values[:8]) - values[3] - values[4]
    return busy / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    try:
        resident = Path(f"/proc/{pid}/statm").read_text().split()[1]
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return int(resident) * PAGE_SIZE


@dataclass
class TreeSample:
    cpu_s: float
    sys_s: float  # the kernel-side part of cpu_s (syscalls, wake-ups)
    rss: dict[int, int]  # pid -> bytes
    pids: list[int]
    threads: dict[str, float]  # thread group -> CPU seconds, summed over the processes

    @property
    def rss_total(self) -> int:
        return sum(self.rss.values())


def sample(pid: int) -> TreeSample:
    pids = tree(pid)
    threads: dict[str, float] = {}
    for p in pids:
        for group, seconds in thread_cpu(p).items():
            threads[group] = threads.get(group, 0.0) + seconds
    splits = [cpu_split(p) for p in pids]
    return TreeSample(
        cpu_s=sum(u + s for u, s in splits),
        sys_s=sum(s for _, s in splits),
        rss={p: rss_bytes(p) for p in pids},
        pids=pids,
        threads=threads,
    )


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except FileNotFoundError:
        return ""
