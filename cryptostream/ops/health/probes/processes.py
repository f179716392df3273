"""What a process tree uses, from /proc: resident memory and CPU time."""
from __future__ import annotations

import os
from pathlib import Path


def process_tree_usage(pid: int) -> tuple[int, float]:
    """(RSS bytes, CPU seconds) of a process and its descendants, from /proc."""
    rss, cpu, pending = 0, 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            rss += int(stat[21]) * os.sysconf("SC_PAGE_SIZE")
            cpu += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (OSError, IndexError):
            continue
        pending += [int(child) for child in children]
    return rss, cpu
