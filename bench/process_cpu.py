"""CPU time of process trees, read from ``/proc`` (Linux), for benches that want to say what a
request costs and not only how long it took.

A tree's time is every living process's own and reaped children's time (``utime + stime +
cutime + cstime``): a child that has exited is counted in its parent's ``cutime``, a living
one only in its own line, so each CPU second is counted once. Where ``/proc`` is missing the
meter reads nothing and says so (``available``).
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Reading:
    at: float  # time.monotonic()
    seconds: dict[str, float]  # CPU seconds so far, per group


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:  # the process ended between the listing and the read
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its last ')'
    return text[text.rindex(")") + 2:].split()


def _processes() -> dict[int, tuple[int, float]]:
    """pid → (parent pid, CPU seconds of the process and its reaped children)."""
    found = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is None:
            continue
        # after the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14)
        ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
        found[int(entry.name)] = (int(fields[1]), ticks / TICKS_PER_SECOND)
    return found


class CpuMeter:
    """CPU seconds of named process trees: ``{"billing": [pid], "postgres": [pid], …}``."""

    def __init__(self, roots: dict[str, list[int]]) -> None:
        self.roots = roots
        self.available = PROC.is_dir() and (PROC / "self" / "stat").exists()

    def read(self) -> Reading:
        seconds: dict[str, float] = defaultdict(float)
        if self.available:
            processes = _processes()
            children: dict[int, list[int]] = defaultdict(list)
            for pid, (parent, _) in processes.items():
                children[parent].append(pid)
            for group, pids in self.roots.items():
                for pid in _tree(pids, children):
                    if pid in processes:
                        seconds[group] += processes[pid][1]
        return Reading(time.monotonic(), {group: seconds.get(group, 0.0) for group in self.roots})


def _tree(roots: list[int], children: dict[int, list[int]]) -> list[int]:
    found, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def busy_share(before: Reading, after: Reading) -> dict[str, float]:
    """Per group, the share of one core used between two readings (1.0 = a whole core)."""
    elapsed = max(after.at - before.at, 1e-9)
    return {group: (after.seconds[group] - before.seconds[group]) / elapsed for group in after.seconds}


def cost_per_request(idle: dict[str, float], before: Reading, after: Reading, requests: int) -> dict[str, float]:
    """Per group, milliseconds of CPU a request cost between two readings, the idle share (a core's
    fraction, from ``busy_share`` over a quiet moment) taken off: the relays', consumers' and
    broker's polling is not what the requests cost."""
    ms_of_the_window = (after.at - before.at) * 1000 / max(requests, 1)
    return {group: max(0.0, share - idle.get(group, 0.0)) * ms_of_the_window
            for group, share in busy_share(before, after).items()}
