"""The reading side of pipeline_stats: rows of every run summed per metric and per hour, the
minute of each maximum kept, and prefixed metrics (rejected.<reason>) listed by their suffix."""
from __future__ import annotations

from datetime import datetime

from cryptostream.ops.health.probes.pipeline_stats import merged
from cryptostream.pipeline.stats import Figure
from cryptostream.pipeline.stats.figure import SECONDS


def row(minute: datetime, program: str, metric: str, *values: float, count: int = 0) -> tuple:
    figure = Figure()
    figure.add(count)
    for value in values:
        figure.observe(value, SECONDS)
    return (minute, program, metric, *figure.columns())


def test_runs_and_minutes_merge_per_metric_and_hour() -> None:
    early, late, next_hour = datetime(2026, 1, 1, 10, 5), datetime(2026, 1, 1, 10, 59), datetime(2026, 1, 1, 11, 0)
    stats = merged([row(early, "processor", "batch_duration_s", 0.2, 0.3),
                    row(early, "processor", "batch_duration_s", 4.0),  # a second run in the same minute
                    row(late, "processor", "batch_duration_s", 0.5),
                    row(next_hour, "processor", "batch_duration_s", 1.0),
                    row(late, "processor", "rejected.late", count=3),
                    row(next_hour, "processor", "rejected.duplicate", count=1),
                    row(late, "producer", "published", count=7)], early, next_hour)
    durations = stats.figure("processor", "batch_duration_s")
    assert (durations.samples, durations.maximum, durations.sum) == (5, 4.0, 6.0)
    assert stats.peak("processor", "batch_duration_s") == early
    assert [(hour.hour, f.samples) for hour, f in stats.hours("processor", "batch_duration_s").items()] == \
        [(10, 4), (11, 1)]
    assert {reason: f.samples for reason, f in stats.with_prefix("processor", "rejected.").items()} == \
        {"duplicate": 1, "late": 3}
    assert stats.count("producer", "published") == 7
    assert stats.count("producer", "dropped") == 0
