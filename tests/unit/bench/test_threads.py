"""bench/threads.py: a process tree's CPU split by thread group, from /proc."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from cryptostream.bench import threads

TICK = os.sysconf("SC_CLK_TCK")
GONE_PID = 2**22 + 7  # above any pid_max: not a real process, so it has no children


def write_stat(path: Path, name: str, ticks: int) -> None:
    """A /proc stat line: pid (name) state, then fields up to utime (index 11 after the name)
    and stime; the name may hold spaces and parentheses, as a JVM thread's does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"1 ({name}) S " + " ".join(["0"] * 10) + f" {ticks} 0 0 0\n")


def fake_java(proc: Path, total: int, thread_ticks: dict[int, tuple[str, int]]) -> None:
    write_stat(proc / str(GONE_PID) / "stat", "java", total)
    for tid, (name, ticks) in thread_ticks.items():
        write_stat(proc / str(GONE_PID) / "task" / str(tid) / "stat", name, ticks)


def test_jvm_threads_are_grouped_by_name_and_ended_ones_count_apart(tmp_path) -> None:
    fake_java(tmp_path, 10 * TICK, {1: ("java", 0), 2: ("C2 CompilerThre", 3 * TICK),
                                    3: ("stream executio", 2 * TICK), 4: ("C1 CompilerThre", 5 * TICK)})
    before = threads.snapshot(GONE_PID, tmp_path)
    # Ten seconds on: thread 4 ended (its 5 s stay in the process's total), a task thread and a
    # new GC thread started, the stream execution thread spent 1 s more.
    for tid in (4,):
        (tmp_path / str(GONE_PID) / "task" / str(tid) / "stat").unlink()
    fake_java(tmp_path, 19 * TICK, {1: ("java", 0), 2: ("C2 CompilerThre", 5 * TICK),
                                    3: ("stream executio", 3 * TICK), 5: ("Executor task i", 4 * TICK),
                                    6: ("GC Thread#0", 1 * TICK)})
    after = threads.snapshot(GONE_PID, tmp_path)
    assert threads.breakdown(before, after, 10.0) == {
        "executor_tasks": 40.0, "jit": 20.0, "stream_execution": 10.0, "gc_and_vm": 10.0,
        "other_jvm": 0.0, "ended_threads": 10.0}


def test_unknown_names_are_other_jvm_threads() -> None:
    assert threads.group_of("Thread-3") == "other_jvm"
    assert threads.group_of("spark-listener-") == "listener_bus"


def test_a_python_process_is_python_and_its_busy_thread_shows() -> None:
    """A Python process of its own (the test's own process may have a JVM below it: pyspark's),
    busy for half a second of CPU between the two snapshots."""
    busy = ("import sys, time\nsys.stdin.readline()\nend = time.process_time() + 0.5\n"
            "while time.process_time() < end: pass\nprint('done', flush=True)\ntime.sleep(60)\n")
    child = subprocess.Popen([sys.executable, "-c", busy], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        before, started = threads.snapshot(child.pid), time.monotonic()
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline() == "done\n"
        after = threads.snapshot(child.pid)
    finally:
        child.kill()
        child.wait()
    shares = threads.breakdown(before, after, time.monotonic() - started)
    assert set(shares) <= {"python", "ended_threads"}
    assert shares["python"] > 0


def test_a_process_gone_before_the_first_snapshot_is_left_out(tmp_path) -> None:
    assert threads.snapshot(GONE_PID, tmp_path) == threads.Snapshot({}, {})
