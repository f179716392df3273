"""bin/bench: the benchmark on a stack of its own (bounded, 127.0.0.1 only).

Starts bin/up --simulated in var/bench/home on free ports, runs the measurements of
bench/phases.py --runs times, prints a table of medians with the targets beside them and
writes every figure to var/bench/bench-<time>.json, then stops the stack.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import datetime, timezone
from typing import Any

from cryptostream.bench import idle, phases, profile, speed
from cryptostream.bench.measure import median
from cryptostream.bench.stack import OwnStack
from cryptostream.core import shipped_files
from cryptostream.ops import cli

# (figure, dotted path in the medians, target, "min" = at least / "max" = at most)
TARGETS = [
    ("processor msgs/s (drain)", "throughput.processor.msgs_per_s", 100_000, "min"),
    ("raw Kafka consumer msgs/s", "throughput.raw_consumer.fetch_msgs_per_s", None, None),
    ("processor / raw consumer", "throughput.ratio_to_raw_consumer", 0.25, "min"),
    ("naive Spark query msgs/s (drain)", "throughput.naive_query.msgs_per_s", None, None),
    ("processor / naive query", "throughput.ratio_to_naive_query", 1.0, "min"),
    ("processor msgs/s of batch time (drain)", "throughput.processor.msgs_per_batch_s", None, None),
    ("naive query msgs/s of batch time (drain)", "throughput.naive_query.msgs_per_batch_s", None, None),
    ("processor / naive query, batch time", "throughput.batch_time_ratio_to_naive_query", 1.0, "min"),
    ("micro-batch p50 s (drain)", "throughput.processor.batch_s.p50", None, None),
    ("micro-batch p95 s (drain)", "throughput.processor.batch_s.p95", None, None),
    ("stack peak RSS MiB", "latency.stack_peak_rss_mib", 3072, "max"),
    ("small-batch p50 ms (idle)", "idle.batch_ms.p50", 300, "max"),
    ("processor CPU % (idle)", "idle.cpu_percent.processor", 25, "max"),
    ("first rows after bin/up s", "first_rows_s", 30, "max"),
    ("producer publish path msgs/s", "publish.msgs_per_s", None, None),
    ("publish path dropped (buffer full)", "publish.dropped", 0, "max"),
    ("REST requests per poll", "latency.rest_producer.requests_per_poll", None, None),
    ("REST weight per minute (max)", "latency.rest_producer.weight_per_minute_max", None, None),
]
DEFAULT_LOADS = (0, 100, 1000)  # msgs/s added to the REST source's ~5 (0: the REST source alone)
MAX_LOAD = 2_500  # the five configured symbols, one price per symbol and ms, random symbols (as bin/soak)
SMALL_BATCH_LOAD = 100  # batches of at most ~100 rows a second: "small" (target p50 <= 0.3 s)
DRAIN_TRIGGER = 0.01  # seconds: the drains measure capacity, not the trigger's pace


def latency_targets(loads: list[int]) -> list[tuple[str, str, float | None, str | None]]:
    """The latency phase's rows, per load: per-message percentiles (targets p50 <= 1 s, p99 <= 2 s
    at every load), the old per-row-update figure beside them, the processor's CPU (<= 25 % of a
    core for the REST source alone, <= 40 % up to +100 msgs/s) and its micro-batch p50."""
    rows = []
    for added in loads:
        at, label = f"latency.loads.{added}", "REST alone" if added == 0 else f"REST +{added}/s"
        cpu = 25 if added == 0 else 40 if added <= SMALL_BATCH_LOAD else None
        rows += [(f"[{label}] msgs/s counted", f"{at}.counted_msgs_per_s", None, None),
                 (f"[{label}] latency p50 s", f"{at}.messages_s.p50", 1.0, "max"),
                 (f"[{label}] latency p95 s", f"{at}.messages_s.p95", None, None),
                 (f"[{label}] latency p99 s", f"{at}.messages_s.p99", 2.0, "max"),
                 (f"[{label}] latency max s", f"{at}.messages_s.max", None, None),
                 (f"[{label}] row-update p50 s (lower bd)", f"{at}.row_update_lower_bound_s.p50", None, None),
                 (f"[{label}] processor CPU % of a core", f"{at}.processor_cpu_percent", cpu, cpu and "max"),
                 (f"[{label}] micro-batch p50 s", f"{at}.batch_s.p50",
                  0.3 if added <= SMALL_BATCH_LOAD else None, "max")]
    return rows


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def machine() -> dict[str, Any]:
    memory_kib = int(next(line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal")))
    return {"cores": os.cpu_count(), "ram_gib": round(memory_kib / 2**20, 1), "kernel": platform.release(),
            "python": platform.python_version(), "python_loop_s": speed.loop_seconds()}


def run_all(args: argparse.Namespace, folder) -> dict[str, Any]:
    stack = OwnStack(folder / "home")
    say(f"starting the benchmark's own stack in {stack.home}")
    report: dict[str, Any] = {"machine": machine(), "args": vars(args), "runs": []}
    try:
        report["first_rows_s"] = round(stack.up(), 1)  # also resolves the jars on a fresh clone
        if "profile" in args.phases:
            say(f"profile: the processor's Spark steps over {args.profile_rows:,} synthetic rows in memory")
            stack.ctl("stop", "pipeline:*")  # nothing else busy meanwhile; the latency run restarts them
            report["profile"] = profile.profile(stack.config, args.profile_rows)
        if "throughput" in args.phases:
            topic, symbols, preload_rate = phases.prepare_topic(stack, args.messages, args.extra_symbols, say)
            report["preload_msgs_per_s"] = round(preload_rate)
        for run in range(args.runs):
            say(f"run {run + 1} of {args.runs}")
            figures: dict[str, Any] = {}
            if "throughput" in args.phases:
                figures["throughput"] = phases.throughput(stack, topic, symbols, args.messages, run, folder,
                                                          args.verify and run == 0, args.drain_trigger, say)
            if "producer" in args.phases:
                figures["publish"] = phases.publish_path(stack, args.publish_messages, say)
            if "idle" in args.phases:
                figures["idle"] = idle.idle(stack, args.idle_minutes, args.idle_rate, folder, say)
            if "latency" in args.phases:
                figures["latency"] = phases.latency(stack, args.latency_minutes, args.loads, say)
            report["runs"].append(figures)
    finally:
        if not args.keep_stack:
            stack.down()
    report["medians"] = medians(report["runs"])
    report["medians"]["first_rows_s"] = report.get("first_rows_s")
    return report


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of every number found at the same place in each run's figures."""
    def merge(values: list[Any]) -> Any:
        if all(isinstance(v, dict) for v in values):
            return {k: merge([v.get(k) for v in values]) for k in values[0]}
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        return median(numbers) if numbers else values[0]
    return merge(runs) if runs else {}


def lookup(figures: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        figures = figures.get(part) if isinstance(figures, dict) else None
    return figures


def table(report: dict[str, Any]) -> str:
    rows = [f"{'figure':40} {'median':>12} {'target':>10}  met", "-" * 70]
    loads = report.get("args", {}).get("loads", list(DEFAULT_LOADS))
    for name, path, target, kind in TARGETS + latency_targets(loads):
        value = lookup(report["medians"], path)
        met = "" if target is None or value is None else \
            ("yes" if (value >= target if kind == "min" else value <= target) else "NO")
        shown = "-" if value is None else f"{value:,.3f}".rstrip("0").rstrip(".")
        bound = "" if target is None else f"{'>=' if kind == 'min' else '<='} {target:,}"
        rows.append(f"{name:40} {shown:>12} {bound:>10}  {met}")
    host = report["machine"]
    loop = f"; a Python loop of 20 M additions: {host['python_loop_s']} s" if "python_loop_s" in host else ""
    rows.append(f"machine: {host['cores']} cores, {host['ram_gib']} GiB RAM{loop}; medians of {len(report['runs'])} run(s)")
    return "\n".join(rows)


@cli.command()
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description="Benchmark the pipeline on a stack of its own.")
    parser.add_argument("--messages", type=int, default=5_000_000, help="preloaded for the throughput run")
    parser.add_argument("--extra-symbols", type=int, default=0, help="symbols beyond the configured five")
    parser.add_argument("--runs", type=int, default=3, help="each figure is the median of this many runs")
    parser.add_argument("--loads", default=",".join(map(str, DEFAULT_LOADS)),
                        type=lambda text: [int(n) for n in text.split(",")],
                        help="msgs/s added to the REST source for each latency load (0: it alone)")
    parser.add_argument("--latency-minutes", type=float, default=3.0, help="per load")
    parser.add_argument("--idle-rate", type=int, default=5, help="input msgs/s of the idle run (the REST producer's)")
    parser.add_argument("--idle-minutes", type=float, default=3.0, help="measured minutes of the idle run")
    parser.add_argument("--publish-messages", type=int, default=200_000)
    parser.add_argument("--profile-rows", type=int, default=1_000_000, help="rows of the profile phase")
    parser.add_argument("--phases", default="profile,throughput,idle,latency,producer",
                        type=lambda text: set(text.split(",")), help="comma-separated subset")
    parser.add_argument("--verify", action="store_true", help="reconcile the first throughput run (slow)")
    parser.add_argument("--drain-trigger", type=float, default=DRAIN_TRIGGER, metavar="SECONDS",
                        help="both drains' trigger interval (default 0.01: each batch as soon as the last "
                             "ends, their capacity, as Spark's default trigger; 1: the processor's configured "
                             "pace, what catching up a backlog takes)")
    parser.add_argument("--keep-stack", action="store_true", help="leave the benchmark stack running")
    args = parser.parse_args(argv)
    if not (1 <= args.runs <= 10 and 1_000 <= args.messages <= 50_000_000 and 0 <= args.extra_symbols <= 500
            and 0 < args.latency_minutes <= 60 and 1 <= len(args.loads) <= 5
            and all(0 <= load <= MAX_LOAD for load in args.loads)
            and 10_000 <= args.profile_rows <= 10_000_000 and 1 <= args.idle_rate <= 1_000
            and 0 < args.idle_minutes <= 30
            and 0.01 <= args.drain_trigger <= 60):
        parser.error("out of bounds: runs 1-10, messages 1,000-50,000,000, extra symbols 0-500, "
                     f"latency minutes up to 60 per load, 1-5 loads of 0-{MAX_LOAD:,} msgs/s added, "
                     "profile rows 10,000-10,000,000, idle rate 1-1,000, idle minutes up to 30, "
                     "drain trigger 0.01-60 s")
    folder = shipped_files.checkout("bin/bench") / "var" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    report = run_all(args, folder)
    path = folder / f"bench-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    report["args"]["phases"] = sorted(args.phases)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(table(report))
    for part, figures in (lookup(report["medians"], "idle.parts_ms") or {}).items():
        print(f"idle batch part  {part:28} p50 {figures['p50']:>8,} ms  p95 {figures['p95']:>8,} ms")
    for group, percent in (lookup(report["medians"], "idle.cpu_percent_by_thread") or {}).items():
        print(f"idle CPU by thread  {group:25} {percent:>8} % of a core")
    for step, figures in report.get("profile", {}).items():
        print(f"profile  {step:36} {figures['rows_per_s']:>12,} rows/s")
    print(path)
    return 0
