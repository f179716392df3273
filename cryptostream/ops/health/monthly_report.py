"""bin/monthly-report: runbook section 5 as a Markdown report with PNG plots.

5.2 performance  from MySQL, whatever the log rotation: the per-minute statistics the producer
                 and the processor write (pipeline_stats: throughput, micro-batch duration, MySQL
                 write latency, lag, API latency and failures, rejects, restarts) and the
                 end-to-end latency of the rows (moving_averages); performance.py
5.3 capacity     Kafka disk usage, MySQL table sizes and growth per day, CPU and memory of
                 each program
Written to var/reports/monthly-<date>/report.md beside its plots (and each plot's data as CSV).
"""
from __future__ import annotations

import argparse
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptostream.core import config as config_module
from cryptostream.ops import deployment as deployments
from cryptostream.ops.deployment import Deployment
from cryptostream.ops.health.performance import Performance
from cryptostream.ops.health.probes.mysql import mysql_query
from cryptostream.ops.health.probes.pipeline_stats import read_stats, utc_now
from cryptostream.ops.health.report_plots import plot
from cryptostream.ops import cli

DAYS = 30


def utc_minute(text: str) -> datetime:
    """--until: ISO-8601, naive = UTC, to the minute (naive UTC, as MySQL holds times)."""
    when = datetime.fromisoformat(text)
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc).replace(tzinfo=None)
    return when.replace(second=0, microsecond=0)


class Report:
    """The report of the `days` before `until` (naive UTC; default: up to the current minute)."""

    def __init__(self, deployment: Deployment, folder: Path, until: datetime | None = None, days: int = DAYS) -> None:
        self.deployment = deployment
        self.config = deployment.config
        self.folder = folder
        self.until = until or utc_now().replace(second=0, microsecond=0) + timedelta(minutes=1)
        self.days = days
        self.since = self.until - timedelta(days=days)
        self.lines: list[str] = []

    def performance(self) -> None:
        stats = read_stats(self.config, self.since, self.until)
        latency = [float(r[0]) for r in mysql_query(self.config, "end_to_end_latency", (self.since, self.until))]
        section = Performance(stats, latency, self.days)
        self.lines += ["## 5.2 Performance", "",
                       "Counts, means and maxima are exact. Percentiles marked <= are upper bucket edges of the "
                       "per-minute statistics: at most one bucket step (x1.34) above the true value.", "",
                       "| figure | value | source |", "| --- | --- | --- |",
                       *[f"| {name} | {value} | {source} |" for name, value, source in section.rows()], ""]
        for made in section.plots():
            self.image(made.name, made.title, made.ylabel, made.series, made.kind)

    def capacity(self) -> None:
        per_day = mysql_query(self.config, "rows_per_day", (self.since, self.until))
        sizes = mysql_query(self.config, "table_sizes")
        kafka_disk = self.kafka_disk()
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
        for name, state, rss, cpu in self.deployment.usage():
            self.lines.append(f"| {name} | {state} | {rss / 2**20:.0f} MiB | {cpu:.1f} s |")
        self.lines.append("")

    def kafka_disk(self) -> str:
        used = self.deployment.kafka_disk_bytes()
        return "not measured here (external Kafka)" if used is None else f"{used / 2**20:.1f} MiB"

    def image(self, name: str, title: str, ylabel: str, series: dict, kind: str = "line") -> None:
        self.lines += [f"![{title}]({plot(self.folder / name, title, ylabel, series, kind)})", ""]

    def write(self) -> Path:
        now = datetime.now(timezone.utc)
        self.lines = [f"# cryptostream monthly report, {now:%Y-%m-%d %H:%M} UTC", "",
                      f"{self.days} days from {self.since:%Y-%m-%d %H:%M} to {self.until:%Y-%m-%d %H:%M} UTC. "
                      f"Performance from MySQL {self.config.mysql.database} (pipeline_stats, moving_averages); "
                      f"capacity from MySQL, the Kafka data, supervisord and /proc of the "
                      f"{self.deployment.name} stack.", ""]
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
    parser.add_argument("--until", type=utc_minute, help="end of the period, ISO-8601 (naive = UTC); default now")
    parser.add_argument("--days", type=int, default=DAYS, help=f"length of the period (default {DAYS})")
    args = deployments.add_flags(parser).parse_args(argv)
    config = config_module.load()
    folder = args.output or config.var_dir / "reports" / f"monthly-{datetime.now(timezone.utc):%Y-%m-%d}"
    folder.mkdir(parents=True, exist_ok=True)
    print(Report(deployments.choose(config, args.deployment), folder, args.until, args.days).write())
    return 0
