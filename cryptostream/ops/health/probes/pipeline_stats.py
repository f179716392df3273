"""The per-minute statistics (pipeline_stats) as the checks and the monthly report read them: the
rows of a time range merged per (program, metric) and per hour, every run of a minute summed."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable

from cryptostream.core.config import Config
from cryptostream.ops.health.probes.mysql import mysql_query
from cryptostream.pipeline.stats import Figure

Key = tuple[str, str]  # (program, metric)


@dataclass
class StatsRange:
    """Merged figures of the minutes from `since` up to, not including, `until` (naive UTC)."""
    since: datetime
    until: datetime
    totals: dict[Key, Figure] = field(default_factory=dict)
    hourly: dict[Key, dict[datetime, Figure]] = field(default_factory=dict)
    peaks: dict[Key, datetime] = field(default_factory=dict)  # the minute of each measured maximum

    def add(self, minute: datetime, program: str, metric: str, figure: Figure) -> None:
        key = (program, metric)
        total = self.totals.setdefault(key, Figure())
        if figure.high is not None and (total.high is None or figure.high > total.high):
            self.peaks[key] = minute
        total.merge(figure)
        hour = minute.replace(minute=0, second=0, microsecond=0)
        self.hourly.setdefault(key, {}).setdefault(hour, Figure()).merge(figure)

    def figure(self, program: str, metric: str) -> Figure:
        return self.totals.get((program, metric), Figure())

    def count(self, program: str, metric: str) -> int:
        return self.figure(program, metric).samples

    def with_prefix(self, program: str, prefix: str) -> dict[str, Figure]:
        """{rest of the name: figure} of the metrics starting with `prefix` (e.g. rejected.<reason>)."""
        return {metric[len(prefix):]: f for (p, metric), f in sorted(self.totals.items())
                if p == program and metric.startswith(prefix)}

    def hours(self, program: str, metric: str) -> dict[datetime, Figure]:
        """Figures per hour, in time order; hours without any are absent."""
        return dict(sorted(self.hourly.get((program, metric), {}).items()))

    def peak(self, program: str, metric: str) -> datetime | None:
        return self.peaks.get((program, metric))


def merged(rows: Iterable[tuple], since: datetime, until: datetime) -> StatsRange:
    """A StatsRange from pipeline_stats rows (minute, program, metric, samples, total, min, max, buckets)."""
    stats = StatsRange(since, until)
    for minute, program, metric, *columns in rows:
        stats.add(minute, program, metric, Figure.from_columns(*columns))
    return stats


def read_stats(config: Config, since: datetime, until: datetime, metrics: Iterable[str] = ()) -> StatsRange:
    """The statistics of [since, until) (naive UTC), of `metrics` only if any are named."""
    metrics = tuple(metrics)
    if metrics:
        rows = mysql_query(config, "stats_range_of", (*metrics, since, until),
                           metrics=", ".join(["%s"] * len(metrics)))
    else:
        rows = mysql_query(config, "stats_range", (since, until))
    return merged(rows, since, until)


def last_hours(config: Config, hours: float, metrics: Iterable[str] = ()) -> StatsRange:
    """The statistics of the last `hours`, the current (partly written) minute included."""
    now = utc_now()
    return read_stats(config, now - timedelta(hours=hours), now + timedelta(minutes=1), metrics)


def utc_now() -> datetime:
    """Now, naive UTC, as pipeline_stats.minute holds times."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
