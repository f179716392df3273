"""bin/bench --phases idle: what the processor costs at a small steady load (the REST
producer's 5 msgs/s), where each micro-batch's time goes and how much CPU it takes.

A processor of its own (own topic, query name and checkpoint; the stack's producer and
processor stopped, so nothing else competes) reads `rate` synthetic prices a second for
`minutes`. Each batch's parts come from its log line (Spark's durationMs by phase, and the
batch handler's own laps); the CPU is the processor's whole process tree (driver Python plus
the JVM it starts), sampled from /proc, after a warm-up that is not counted, and split by
thread (bench/threads.py: JIT, GC, stream execution, tasks, ...).
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable

from cryptostream.bench import load, threads
from cryptostream.bench.measure import ResourceSampler, batch_events, percentiles
from cryptostream.bench.phases import stop
from cryptostream.bench.stack import OwnStack
from cryptostream.core.ports import free_port
from cryptostream.ops.deployment.processes import process_usage
from cryptostream.ops.health.probes.log_events import time_of
from cryptostream.ops.stack import provisioning
from cryptostream.pipeline.topic import ensure_topic

Say = Callable[[str], None]
WARM_UP_S = 120.0  # JVM start, first batches and JIT compilation (minutes on a busy 2-core machine)
# The figures of a batch log line that are milliseconds of one part of the batch, in the
# order they happen: Spark's phases (progress.duration_parts) and the handler's laps inside addBatch.
PARTS = ("latest_offset_ms", "query_planning_ms", "get_batch_ms", "add_batch_ms", "aggregate_ms",
         "late_again_ms", "dedup_lookup_ms", "dedup_again_ms", "write_ms", "wal_commit_ms", "commit_offsets_ms", "commit_batch_ms")


def idle(stack: OwnStack, minutes: float, rate: int, folder: Path, say: Say,
         **overrides: str) -> dict[str, Any]:
    """The stack's own pipeline stopped and its tables emptied, then measure()."""
    stack.ctl("stop", "pipeline:*")
    provisioning.empty_tables(stack.config)
    return measure(stack, minutes, rate, folder, say, **overrides)


def measure(stack: OwnStack, minutes: float, rate: int, folder: Path, say: Say,
            **overrides: str) -> dict[str, Any]:
    """A fresh processor (settings `overrides`, keys like processor_trigger_interval) at `rate`
    msgs/s: per-part batch durations and its CPU, warm-up left out."""
    topic = f"bench_idle_{time.time_ns()}"
    settings = {"kafka_topic": topic, "processor_query_name": topic,
                "metrics_processor_port": str(free_port()), **overrides}
    config = stack.configured(**settings)
    ensure_topic(config)
    log = folder / f"processor-{topic}.log"
    say(f"idle: {rate} msgs/s for {minutes:g} min after {WARM_UP_S:g}s warm-up ({log.name})")
    sent, halt = [0], threading.Event()
    feeder = threading.Thread(target=load.steady, daemon=True,
                              args=(config, rate, time.monotonic() + WARM_UP_S + minutes * 60 + 60, sent, halt),
                              kwargs={"source": "bench"})
    process = stack.processor(log, **settings)
    feeder.start()
    try:
        time.sleep(WARM_UP_S)
        measured_from, before = time.time(), threads.snapshot(process.pid)
        with ResourceSampler(lambda: {"processor": process.pid}) as tree, \
                ResourceSampler(lambda: {"driver_python": process.pid}, usage=process_usage) as driver:
            time.sleep(minutes * 60)
        by_thread = threads.breakdown(before, threads.snapshot(process.pid), time.time() - measured_from)
        if process.poll() is not None:
            raise RuntimeError(f"the idle run's processor exited ({process.returncode}) early: see {log}")
    finally:
        halt.set()
        stop(process)
        feeder.join(30)
    steady = [e for e in batch_events(log) if _epoch(e) >= measured_from and e.get("input_rows")]
    return {"rate": rate, "minutes": minutes, "sent": sent[0], "settings": overrides,
            **summary(steady, tree.report(), driver.report(), minutes * 60), "cpu_percent_by_thread": by_thread}


def summary(batches: list[dict[str, Any]], tree: dict[str, Any], driver: dict[str, Any],
            seconds: float) -> dict[str, Any]:
    """Batch count and rows, p50/p95 of each part and of the whole batch, CPU % of one core and
    CPU milliseconds per batch (on a busy machine batches take longer, but cost the same CPU)."""
    cpu = tree.get("cpu_percent", {}).get("processor")
    python = driver.get("cpu_percent", {}).get("driver_python")
    parts = {part: _p50_p95([e[part] for e in batches if e.get(part) is not None]) for part in PARTS}
    return {"batches": len(batches),
            "rows_per_batch_p50": percentiles([e["input_rows"] for e in batches], (0.5,))["p50"],
            "batch_ms": _p50_p95([e["duration_ms"] for e in batches]),
            "parts_ms": {part: figures for part, figures in parts.items() if figures["p50"] is not None},
            "cpu_percent": {"processor": cpu, "driver_python": python,
                            "jvm": None if cpu is None or python is None else round(cpu - python, 1)},
            "cpu_ms_per_batch": None if cpu is None or not batches else round(cpu * seconds * 10 / len(batches)),
            "peak_rss_mib": tree.get("peak_rss_mib", {}).get("processor")}


def _p50_p95(values: list[float]) -> dict[str, float | None]:
    return {k: v if v is None else round(v, 1) for k, v in percentiles(values, (0.5, 0.95)).items()}


def _epoch(event: dict[str, Any]) -> float:
    return time_of(event).timestamp()
