"""bin/monthly-report: runbook section 5 as a Markdown report with PNG plots.

5.2 performance  Kafka throughput, micro-batch duration and MySQL write latency percentiles,
                 end-to-end latency (row update time minus the newest ingest time it covers)
5.3 capacity     Kafka disk usage, MySQL table sizes and growth per day, CPU and memory of
                 each program
Written to var/reports/monthly-<date>/report.md beside its plots.
"""
from __future__ import annotations

import argparse
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptostream.core import config as config_module
from cryptostream.core import events
from cryptostream.core.config import Config
from cryptostream.ops.health.percentile import percentile
from cryptostream.ops.health.probes.log_events import events_named, time_of, warm_batches
from cryptostream.ops.health.probes.mysql import mysql_query
from cryptostream.ops.health.probes.processes import process_tree_usage
from cryptostream.ops.health.probes.supervisord import program_states
from cryptostream.ops import cli, programs

DAYS = 30


def hour_of(event: dict[str, Any]) -> datetime:
    return time_of(event).replace(minute=0, second=0, microsecond=0)


def percentiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    return " / ".join(f"{percentile(values, q):.3f}" for q in (0.5, 0.95, 0.99))


def disk_usage(path: Path) -> int:
    """Bytes on disk (allocated blocks: Kafka pre-allocates sparse index files)."""
    return sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def plot(path: Path, title: str, ylabel: str, series: dict[str, tuple[list, list]], kind: str = "line") -> str:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot
    figure, axes = pyplot.subplots(figsize=(8, 3.2))
    for label, (xs, ys) in series.items():
        if kind == "bar":
            axes.bar([str(x) for x in xs], ys, label=label)
        elif kind == "hist":
            axes.hist(ys, bins=30, label=label)
        else:
            axes.plot(xs, ys, marker=".", label=label)
    axes.set_title(title)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    if len(series) > 1:
        axes.legend()
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return path.name


class Report:
    def __init__(self, config: Config, folder: Path) -> None:
        self.config = config
        self.folder = folder
        self.batches = events_named(config, programs.PROCESSOR, {events.BATCH}, DAYS * 24)
        self.polls = events_named(config, programs.PRODUCER, {events.POLL}, DAYS * 24)
        self.lines: list[str] = []

    def performance(self) -> None:
        hourly: dict[datetime, int] = defaultdict(int)
        for event in self.batches:
            hourly[hour_of(event)] += event.get("input_rows") or 0
        hours = sorted(hourly)
        warm = list(warm_batches(iter(self.batches)))
        durations = [e["duration_ms"] / 1000 for e in warm]
        writes = [e["write_ms"] / 1000 for e in warm if e.get("write_ms") is not None]
        latency = [float(r[0]) for r in mysql_query(self.config, "end_to_end_latency", (DAYS,))]
        api = [e["api_latency_ms"] / 1000 for e in self.polls if e.get("api_latency_ms") is not None]
        self.lines += ["## 5.2 Performance", "", "| metric | value |", "| --- | --- |",
                       f"| messages processed ({DAYS} days) | {sum(hourly.values())} |",
                       f"| Kafka throughput, busiest hour | {max(hourly.values(), default=0) / 3600:.2f} msgs/s |",
                       f"| micro-batches (after warm-up) | {len(durations)} |",
                       f"| micro-batch duration p50 / p95 / p99 (s) | {percentiles(durations)} |",
                       f"| MySQL write latency p50 / p95 / p99 (s) | {percentiles(writes)} |",
                       f"| end-to-end latency p50 / p95 / p99 (s) | {percentiles(latency)} |",
                       f"| exchange API latency p50 / p95 / p99 (s) | {percentiles(api)} |", ""]
        if hours:
            self.image("throughput.png", "Kafka throughput (processed per hour)", "msgs/s",
                       {"msgs/s": (hours, [hourly[h] / 3600 for h in hours])})
        if warm:
            self.image("batch-duration.png", "Micro-batch duration", "seconds",
                       {"duration": ([time_of(e) for e in warm], durations)})
        if latency:
            self.image("latency.png", "End-to-end latency of rows", "rows", {"seconds": ([], latency)}, "hist")

    def capacity(self) -> None:
        per_day = mysql_query(self.config, "rows_per_day", (DAYS,))
        sizes = mysql_query(self.config, "table_sizes")
        kafka_bytes = disk_usage(self.config.var_dir / "kafka" / "data")
        kafka_disk = f"{kafka_bytes / 2**20:.1f} MiB" if self.config.kafka.private_broker else \
            "not measured here (external Kafka)"
        self.lines += ["## 5.3 Capacity", "", f"Kafka disk usage: {kafka_disk} "
                       f"(retention {self.config.kafka.retention / 3600:g} h)", "",
                       "| table | rows (estimate) | size |", "| --- | --- | --- |",
                       *[f"| {t} | {n} | {b / 2**20:.2f} MiB |" for t, n, b in sizes], "",
                       "| day (UTC) | new windows in moving_averages |", "| --- | --- |",
                       *[f"| {day} | {count} |" for day, count in per_day], ""]
        if per_day:
            self.image("table-growth.png", "moving_averages growth", "rows per day",
                       {"rows": ([d for d, _ in per_day], [c for _, c in per_day])}, "bar")
        self.lines += ["| program | state | memory (RSS, with children) | CPU time |", "| --- | --- | --- | --- |"]
        for name, info in sorted(program_states(self.config).items()):
            rss, cpu = process_tree_usage(info["pid"]) if info["pid"] else (0, 0.0)
            self.lines.append(f"| {name} | {info['statename']} | {rss / 2**20:.0f} MiB | {cpu:.1f} s |")
        self.lines.append("")

    def image(self, name: str, title: str, ylabel: str, series: dict, kind: str = "line") -> None:
        self.lines += [f"![{title}]({plot(self.folder / name, title, ylabel, series, kind)})", ""]

    def write(self) -> Path:
        now = datetime.now(timezone.utc)
        self.lines = [f"# cryptostream monthly report, {now:%Y-%m-%d %H:%M} UTC", "",
                      f"Last {DAYS} days, from the JSON logs and MySQL of {self.config.var_dir}.", ""]
        for section in (self.performance, self.capacity):
            try:
                section()
            except Exception as exc:  # noqa: BLE001 - one unreachable part must not lose the rest
                self.lines += [f"**{section.__name__} unavailable:** {type(exc).__name__}: {exc}", ""]
        path = self.folder / "report.md"
        path.write_text("\n".join(self.lines) + "\n")
        return path


@cli.command()
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="monthly-report", description="Runbook section 5: performance and capacity.")
    parser.add_argument("--output", type=Path, help="folder for report.md and its plots")
    args = parser.parse_args(argv)
    config = config_module.load()
    folder = args.output or config.var_dir / "reports" / f"monthly-{datetime.now(timezone.utc):%Y-%m-%d}"
    folder.mkdir(parents=True, exist_ok=True)
    print(Report(config, folder).write())
    return 0
