"""Process trees from /proc: what one uses (resident memory, CPU time), and how a pid inside a
container maps to this machine's."""
from __future__ import annotations

import os
from pathlib import Path


def process_tree_usage(pid: int) -> tuple[int, float]:
    """(RSS bytes, CPU seconds) of a process and its descendants, from /proc."""
    usages = [process_usage(current) for current in (pid, *descendants(pid))]
    return sum(rss for rss, _ in usages), sum(cpu for _, cpu in usages)


def process_usage(pid: int) -> tuple[int, float]:
    """(RSS bytes, CPU seconds) of one process, from /proc; (0, 0.0) once it has exited."""
    stat = read_stat(Path(f"/proc/{pid}/stat"))
    if stat is None:
        return 0, 0.0  # exited meanwhile
    return int(stat[1][21]) * os.sysconf("SC_PAGE_SIZE"), cpu_seconds(stat[1])


def read_stat(path: Path) -> tuple[str, list[str]] | None:
    """A process's or thread's /proc stat file: its name (which may hold spaces and
    parentheses) and the fields after it (state first); None once it has gone."""
    try:
        name, rest = path.read_text().split("(", 1)[1].rsplit(")", 1)
    except (OSError, IndexError, ValueError):
        return None
    return name, rest.split()


def cpu_seconds(fields: list[str]) -> float:
    """User plus system CPU time from read_stat's fields."""
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
