"""RunStats: a run's figures by minute, rewritten whole until written, bounded while unwritten."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from structlog.testing import capture_logs

from cryptostream.core import events
from cryptostream.pipeline.stats import Figure, RunStats
from cryptostream.pipeline.stats.names import API_LATENCY, PUBLISHED, STARTS, STATS_DROPPED

T0 = 1_764_590_400.0  # 2025-12-01 12:00:00 UTC, a minute's start


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def by_metric(rows: list[tuple]) -> dict[tuple[datetime, str], tuple]:
    """{(minute, metric): (samples, total, min, max, buckets)} of pending rows."""
    return {(row[0], row[3]): row[4:] for row in rows}


def test_figures_land_in_the_minute_they_happen() -> None:
    """A start is recorded once; counts and values go to their UTC minute, with program and run."""
    clock = Clock(T0 + 59.9)
    stats = RunStats("producer", clock=clock, run_id=7)
    stats.add(PUBLISHED, 5)
    stats.observe(API_LATENCY, 0.12)
    clock.now = T0 + 60.0
    stats.add(PUBLISHED, 2)
    minute, rows = stats.pending()
    first, second = datetime(2025, 12, 1, 12, 0), datetime(2025, 12, 1, 12, 1)
    assert minute == int(T0 // 60) + 1
    assert {row[1:3] for row in rows} == {("producer", 7)}
    found = by_metric(rows)
    assert found[(first, STARTS)][0] == 1
    assert found[(first, PUBLISHED)][0] == 5
    assert found[(first, API_LATENCY)] == (1, Decimal("0.120000"), Decimal("0.120000"), Decimal("0.120000"),
                                           "0.12:1")
    assert found[(second, PUBLISHED)][0] == 2
    assert len(found) == 4


def test_a_written_minute_is_forgotten_and_the_current_one_rewritten_whole() -> None:
    """After a write, closed minutes go; the current minute's next rows hold all of it, so
    writing them again replaces the first write rather than adding to it."""
    clock = Clock(T0 + 10)
    stats = RunStats("producer", clock=clock, run_id=1)
    stats.add(PUBLISHED, 3)
    clock.now = T0 + 70
    stats.add(PUBLISHED, 4)
    minute, rows = stats.pending()
    stats.written(minute)
    stats.add(PUBLISHED, 1)
    _, again = stats.pending()
    assert [(r[0].minute, r[3], r[4]) for r in again] == [(1, PUBLISHED, 5)]
    assert stats.held_minutes() == 1


def test_a_clock_stepped_back_cannot_reopen_a_written_minute() -> None:
    """Rewriting a stored minute with only its late additions would lose its figures: they go
    to the oldest minute still open instead."""
    clock = Clock(T0 + 130)
    stats = RunStats("producer", clock=clock, run_id=1)
    minute, _ = stats.pending()
    stats.written(minute)
    clock.now = T0 + 5
    stats.add(PUBLISHED, 9)
    assert [(r[0].minute, r[4]) for r in stats.pending()[1]] == [(2, 1), (2, 9)]


def test_extra_figures_are_written_without_being_kept_until_merged() -> None:
    """The processor writes a batch's counts before its transaction commits: pending(extra)
    leaves the run untouched; merge() adds them once it committed."""
    stats = RunStats("processor", clock=Clock(), run_id=1)
    extra = Figure()
    extra.add(100)
    minute, rows = stats.pending({"messages": extra})
    assert by_metric(rows)[(datetime(2025, 12, 1, 12, 0), "messages")][0] == 100
    assert "messages" not in {r[3] for r in stats.pending()[1]}
    stats.merge(minute, {"messages": extra})
    stats.merge(minute, {"messages": extra})
    assert by_metric(stats.pending()[1])[(datetime(2025, 12, 1, 12, 0), "messages")][0] == 200
    assert extra.samples == 100, "the caller's figure is not changed"


def test_unwritten_minutes_are_bounded_and_a_drop_is_counted_and_logged() -> None:
    """MySQL away for longer than max_minutes: the oldest minute goes, counted in the newest
    (stats_dropped_minutes, written once MySQL is back) and logged as stats_dropped."""
    clock = Clock()
    stats = RunStats("producer", max_minutes=3, clock=clock, run_id=1)
    with capture_logs() as logs:
        for minute in range(5):
            clock.now = T0 + 60 * minute
            stats.add(PUBLISHED)
    rows = stats.pending()[1]
    assert sorted({r[0].minute for r in rows}) == [2, 3, 4]
    assert stats.dropped == 2
    assert sum(r[4] for r in rows if r[3] == STATS_DROPPED) == 2
    dropped = [e for e in logs if e["event"] == events.STATS_DROPPED]
    assert [e["minute"] for e in dropped] == ["2025-12-01T12:00:00", "2025-12-01T12:01:00"]
    assert dropped[-1]["dropped_total"] == 2
    assert dropped[-1]["log_level"] == "error"  # data lost: the figures of that minute
