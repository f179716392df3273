"""Where a process tree's CPU goes, by thread: the JVM names its threads (the kernel keeps the
first 15 characters), so /proc tells the JIT compilers, the garbage collector, Spark's stream
execution thread and its task threads apart without a probe inside the JVM.

Two snapshots, before and after: each living thread's CPU time counts in its group; what the
processes used beyond their living threads (threads that ended in between, such as compiler
threads the JVM stops when idle) counts as `ended_threads`.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from cryptostream.ops.deployment.processes import cpu_seconds, descendants, read_stat

# (group, thread name prefixes), first match wins; a non-Java process's threads are "python".
JVM_GROUPS = (
    ("jit", ("C1 CompilerThre", "C2 CompilerThre")),
    ("gc_and_vm", ("GC Thread", "G1 ", "VM Thread", "VM Periodic")),
    ("stream_execution", ("stream executio",)),
    ("executor_tasks", ("Executor task",)),  # "...launch worker for task N", "...idle worker#N"
    ("listener_bus", ("spark-listener-",)),
)


class Snapshot(NamedTuple):
    threads: dict[tuple[int, int], tuple[str, float]]  # (pid, tid) -> (group, CPU s)
    processes: dict[int, float]  # pid -> CPU s of the whole process, ended threads included


def snapshot(pid: int, proc: Path = Path("/proc")) -> Snapshot:
    """CPU seconds of every thread of `pid` and its descendants, by group."""
    threads: dict[tuple[int, int], tuple[str, float]] = {}
    processes: dict[int, float] = {}
    for current in (pid, *descendants(pid)):
        process = _stat(proc / str(current) / "stat")
        if process is None:
            continue  # exited meanwhile
        processes[current] = process[1]
        java = process[0] == "java"
        for task in _tasks(proc / str(current) / "task"):
            thread = _stat(task / "stat")
            if thread is not None:
                threads[(current, int(task.name))] = (group_of(thread[0]) if java else "python", thread[1])
    return Snapshot(threads, processes)


def group_of(name: str) -> str:
    return next((group for group, prefixes in JVM_GROUPS if name.startswith(prefixes)), "other_jvm")


def breakdown(before: Snapshot, after: Snapshot, seconds: float) -> dict[str, float]:
    """% of one core per group between two snapshots `seconds` apart (processes present in both)."""
    used: dict[str, float] = {}
    for process, total in after.processes.items():
        if process not in before.processes:
            continue
        counted = 0.0
        for (pid, tid), (group, cpu) in after.threads.items():
            if pid == process:
                spent = cpu - before.threads.get((pid, tid), (group, 0.0))[1]
                used[group] = used.get(group, 0.0) + spent
                counted += spent
        ended = total - before.processes[process] - counted
        used["ended_threads"] = used.get("ended_threads", 0.0) + max(ended, 0.0)
    return {group: round(100 * cpu / seconds, 1) for group, cpu in sorted(used.items(), key=lambda kv: -kv[1])}


def _tasks(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


def _stat(path: Path) -> tuple[str, float] | None:
    """(name, CPU seconds) from a /proc stat file; None when it has gone."""
    stat = read_stat(path)
    return None if stat is None else (stat[0], cpu_seconds(stat[1]))
