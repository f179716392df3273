"""Process trees from /proc: what one uses (resident memory, CPU time), and how a pid inside a
container maps to this machine's."""
from __future__ import annotations

import os
from pathlib import Path


def process_tree_usage(pid: int) -> tuple[int, float]:
    """(RSS bytes, CPU seconds) of a process and its descendants, from /proc."""
    rss, cpu = 0, 0.0
    for current in (pid, *descendants(pid)):
        try:
            stat = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited meanwhile
        rss += int(stat[21]) * os.sysconf("SC_PAGE_SIZE")
        cpu += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return rss, cpu


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, from /proc (their pids as this machine sees them)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        try:
            children = [int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except OSError:
            continue
        found += children
        pending += children
    return found


def host_pid(container_init: int, inner_pid: int) -> int | None:
    """The pid on this machine of the process a container knows as `inner_pid` (its NSpid's last
    field), searched below the container's first process; None when it is gone."""
    for pid in (container_init, *descendants(container_init)):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("NSpid:") and int(line.split()[-1]) == inner_pid:
                return pid
    return None
