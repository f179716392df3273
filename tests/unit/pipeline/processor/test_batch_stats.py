"""The processor's per-minute figures: a batch's counts count only once its transaction commits,
a replayed batch adds nothing, warm-up batches are kept apart, pruning comes once a minute."""
from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

from cryptostream.pipeline.processor.batch_stats import BatchStats, counts
from cryptostream.pipeline.processor.sink import BatchResult
from cryptostream.pipeline.stats.names import (BATCH_DURATION, LAG, MESSAGES_PROCESSED, MYSQL_WRITE,
                                               MYSQL_WRITE_FAILURES, WARM_UP_DURATION, WINDOWS_WRITTEN)

T0 = 1_764_590_400.0  # 2025-12-01 12:00:00 UTC
CONFIG = SimpleNamespace(stats=SimpleNamespace(retention=400 * 86400.0, max_unwritten=3600.0))


def stats_at(now: list[float]) -> BatchStats:
    return BatchStats(CONFIG, clock=lambda: now[0])


def samples(stats: BatchStats) -> dict[str, int]:
    """metric -> samples over every minute the run holds."""
    found: dict[str, int] = {}
    for row in stats.run.pending()[1]:
        found[row[3]] = found.get(row[3], 0) + row[4]
    return found


def test_a_batch_counts_once_its_transaction_committed() -> None:
    now = [T0]
    stats = stats_at(now)
    rows = stats.rows_for(counts(120, 5, {"late": 2, "duplicate": 0}))
    assert {r[3]: r[4] for r in rows if r[3] != "starts"} == {MESSAGES_PROCESSED: 120, WINDOWS_WRITTEN: 5,
                                                              "rejected.late": 2}
    assert MESSAGES_PROCESSED not in samples(stats), "nothing is the run's before the commit"
    stats.committed(BatchResult(write_ms=40.0, attempts=2))
    found = samples(stats)
    assert (found[MESSAGES_PROCESSED], found[MYSQL_WRITE], found[MYSQL_WRITE_FAILURES]) == (120, 1, 1)


def test_a_replayed_batch_adds_nothing() -> None:
    """The sink found the batch applied before a crash: its first transaction holds its counts."""
    stats = stats_at([T0])
    stats.rows_for(counts(120, 5, {}))
    stats.committed(BatchResult(skipped=True))
    assert MESSAGES_PROCESSED not in samples(stats)
    assert MYSQL_WRITE not in samples(stats)


def test_minutes_stay_held_until_their_rows_went_in() -> None:
    """stats_stored=False (MySQL refused the statistics statement): nothing is forgotten."""
    now = [T0]
    stats = stats_at(now)
    stats.rows_for(counts(10, 1, {}))
    now[0] = T0 + 60
    stats.rows_for(counts(10, 1, {}))
    stats.committed(BatchResult(write_ms=1.0, attempts=1, stats_stored=False))
    assert stats.run.held_minutes() == 2
    stats.rows_for(counts(10, 1, {}))
    stats.committed(BatchResult(write_ms=1.0, attempts=1))
    assert stats.run.held_minutes() == 1, "the earlier minute went in with this batch: final"


def test_warm_up_batches_are_kept_apart_and_lag_recorded() -> None:
    stats = stats_at([T0])
    for duration in (9000, 4000, 2000, 300, 250):
        stats.progress(duration, 40)
    stats.progress(None, None)
    found = samples(stats)
    assert (found[WARM_UP_DURATION], found[BATCH_DURATION], found[LAG]) == (3, 2, 5)


def test_pruning_comes_once_a_minute_at_the_retention() -> None:
    now = [T0 + 5]
    stats = stats_at(now)
    assert stats.prune_before() == datetime(2025, 12, 1, 12, 0) - timedelta(days=400)
    now[0] = T0 + 50
    assert stats.prune_before() is None
    now[0] = T0 + 61
    assert stats.prune_before() == datetime(2025, 12, 1, 12, 1) - timedelta(days=400)


def test_flush_forgets_only_what_the_sink_took() -> None:
    now = [T0]
    stats = stats_at(now)
    now[0] = T0 + 60
    refusing = SimpleNamespace(write_stats=lambda rows: False)
    stats.flush(refusing)
    assert stats.run.held_minutes() == 1
    taken: list = []
    stats.flush(SimpleNamespace(write_stats=lambda rows: taken.extend(rows) or True))
    assert [r[3] for r in taken] == ["starts"]
    assert stats.run.held_minutes() == 0
