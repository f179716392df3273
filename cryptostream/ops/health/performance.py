"""The monthly report's section 5.2, performance: every figure with the source it came from, the
per-minute statistics (pipeline_stats) for what the programs measured and moving_averages for the
end-to-end latency of the rows, and the series of its plots.

Counts, sums, means and maxima are exact. Percentiles from pipeline_stats are upper bucket edges
("<= 0.25"): never below the true value and at most one bucket step (x1.34) above it, capped by
the exact maximum; the end-to-end latency's come from every row, exactly."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptostream.ops.health.percentile import percentile
from cryptostream.ops.health.probes.pipeline_stats import StatsRange
from cryptostream.ops.health.report_plots import Series
from cryptostream.pipeline.stats import Figure
from cryptostream.pipeline.stats.names import (API_ERRORS, API_LATENCY, API_RATE_LIMITED, BATCH_DURATION, DROPPED,
                                               LAG, MESSAGES_PROCESSED, MYSQL_WRITE, MYSQL_WRITE_FAILURES, PROCESSOR,
                                               PRODUCER, PUBLISH_FAILURES, PUBLISHED, REJECTED_PREFIX, STARTS,
                                               STATS_DROPPED)

QUANTILES = (0.5, 0.95, 0.99)
STATS = "pipeline_stats"


@dataclass
class Plot:
    name: str
    title: str
    ylabel: str
    series: Series
    kind: str = "line"


def upper_bounds(figure: Figure, unit: str = "{:.3f}") -> str:
    """'<=a / <=b / <=c': the p50 / p95 / p99 bucket edges, or n/a."""
    if not figure.samples:
        return "n/a"
    return " / ".join("<=" + unit.format(figure.percentile(q)) for q in QUANTILES)


def mean_max(figure: Figure) -> str:
    return "n/a" if not figure.samples else f"{figure.mean:.3f} / {figure.maximum:.3f}"


def exact_percentiles(values: list[float]) -> str:
    return "n/a" if not values else " / ".join(f"{percentile(values, q):.3f}" for q in QUANTILES)


class Performance:
    """Section 5.2 over one StatsRange (`days` long) and the end-to-end latencies of its rows."""

    def __init__(self, stats: StatsRange, latencies: list[float], days: float) -> None:
        self.stats = stats
        self.latencies = latencies
        self.seconds = days * 86400

    def rows(self) -> list[tuple[str, str, str]]:
        """(figure, value, source) in the order the report lists them."""
        return [*self._throughput(), *self._timings(), *self._producer(), *self._health()]

    def _throughput(self) -> list[tuple[str, str, str]]:
        processed = self.stats.count(PROCESSOR, MESSAGES_PROCESSED)
        busiest = max((f.samples for f in self.stats.hours(PROCESSOR, MESSAGES_PROCESSED).values()), default=0)
        return [("messages processed", str(processed), f"{STATS}: processor {MESSAGES_PROCESSED}"),
                ("Kafka throughput, average / busiest hour (msgs/s)",
                 f"{processed / self.seconds:.3f} / {busiest / 3600:.3f}", f"{STATS}: processor {MESSAGES_PROCESSED}")]

    def _timings(self) -> list[tuple[str, str, str]]:
        batches, writes = self._figure(PROCESSOR, BATCH_DURATION), self._figure(PROCESSOR, MYSQL_WRITE)
        lag = self._figure(PROCESSOR, LAG)
        lag_max = "n/a" if lag.maximum is None else f"{lag.maximum:g}"
        return [("micro-batches (after warm-up)", str(batches.samples), f"{STATS}: processor {BATCH_DURATION}"),
                ("micro-batch duration p50 / p95 / p99 (s)", upper_bounds(batches), f"{STATS}: processor {BATCH_DURATION}"),
                ("micro-batch duration mean / max (s)", mean_max(batches), f"{STATS}: processor {BATCH_DURATION}"),
                ("MySQL write latency p50 / p95 / p99 (s)", upper_bounds(writes), f"{STATS}: processor {MYSQL_WRITE}"),
                ("MySQL write latency mean / max (s)", mean_max(writes), f"{STATS}: processor {MYSQL_WRITE}"),
                ("MySQL write failures (retried)", str(self.stats.count(PROCESSOR, MYSQL_WRITE_FAILURES)),
                 f"{STATS}: processor {MYSQL_WRITE_FAILURES}"),
                ("Kafka lag p50 / p95 / p99, max (messages)", f"{upper_bounds(lag, '{:g}')}, {lag_max}",
                 f"{STATS}: processor {LAG}"),
                ("end-to-end latency p50 / p95 / p99 (s)", exact_percentiles(self.latencies),
                 "moving_averages: updated_at - newest_ingest_time")]

    def _producer(self) -> list[tuple[str, str, str]]:
        api = self._figure(PRODUCER, API_LATENCY)
        failed, limited = self.stats.count(PRODUCER, API_ERRORS), self.stats.count(PRODUCER, API_RATE_LIMITED)
        published = self.stats.count(PRODUCER, PUBLISHED)
        return [("exchange requests answered / failed / rate-limited", f"{api.samples} / {failed} / {limited}",
                 f"{STATS}: producer {API_LATENCY}, {API_ERRORS}, {API_RATE_LIMITED}"),
                ("exchange API latency p50 / p95 / p99 (s)", upper_bounds(api), f"{STATS}: producer {API_LATENCY}"),
                ("exchange API latency mean / max (s)", mean_max(api), f"{STATS}: producer {API_LATENCY}"),
                ("messages published, average rate (msgs/s)", f"{published}, {published / self.seconds:.3f}",
                 f"{STATS}: producer {PUBLISHED}"),
                ("publish failures (sent again) / messages dropped",
                 f"{self.stats.count(PRODUCER, PUBLISH_FAILURES)} / {self.stats.count(PRODUCER, DROPPED)}",
                 f"{STATS}: producer {PUBLISH_FAILURES}, {DROPPED}")]

    def _health(self) -> list[tuple[str, str, str]]:
        rejects = self.stats.with_prefix(PROCESSOR, REJECTED_PREFIX)
        by_reason = ", ".join(f"{reason} {f.samples}" for reason, f in rejects.items()) or "none"
        starts = " / ".join(str(self.stats.count(p, STARTS)) for p in (PRODUCER, PROCESSOR))
        dropped = " / ".join(str(self.stats.count(p, STATS_DROPPED)) for p in (PRODUCER, PROCESSOR))
        return [("rejected messages by reason", by_reason, f"{STATS}: processor {REJECTED_PREFIX}<reason>"),
                ("program starts, producer / processor (restarts + 1 each run)", starts, f"{STATS}: {STARTS}"),
                ("statistics minutes dropped unwritten, producer / processor", dropped, f"{STATS}: {STATS_DROPPED}")]

    def plots(self) -> list[Plot]:
        """The plots that have data: throughput, the timings' hourly p95 and maximum, lag, latency."""
        found = []
        processed = self.stats.hours(PROCESSOR, MESSAGES_PROCESSED)
        published = self.stats.hours(PRODUCER, PUBLISHED)
        if processed or published:
            found.append(Plot("throughput.png", "Kafka throughput per hour", "msgs/s",
                              {label: per_second(hours) for label, hours in
                               (("processed", processed), ("published", published)) if hours}))
        for name, title, program, metric in (("batch-duration.png", "Micro-batch duration", PROCESSOR, BATCH_DURATION),
                                             ("mysql-write.png", "MySQL write latency", PROCESSOR, MYSQL_WRITE),
                                             ("api-latency.png", "Exchange API latency", PRODUCER, API_LATENCY)):
            hours = self.stats.hours(program, metric)
            if hours:
                found.append(Plot(name, f"{title} per hour", "seconds", hourly_p95_and_max(hours)))
        lag = self.stats.hours(PROCESSOR, LAG)
        if lag:
            found.append(Plot("lag.png", "Kafka lag per hour (largest)", "messages",
                              {"max": (list(lag), [f.maximum for f in lag.values()])}))
        if self.latencies:
            found.append(Plot("latency.png", "End-to-end latency of rows", "rows", {"seconds": ([], self.latencies)},
                              "hist"))
        return found

    def _figure(self, program: str, metric: str) -> Figure:
        return self.stats.figure(program, metric)


def per_second(hours: dict[datetime, Figure]) -> tuple[list, list]:
    return list(hours), [f.samples / 3600 for f in hours.values()]


def hourly_p95_and_max(hours: dict[datetime, Figure]) -> Series:
    return {"p95 (bucket edge)": (list(hours), [f.percentile(0.95) for f in hours.values()]),
            "max": (list(hours), [f.maximum for f in hours.values()])}
