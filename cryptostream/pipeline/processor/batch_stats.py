"""The processor's per-minute figures in pipeline_stats. A micro-batch's counts (messages, windows,
rejects by reason) are written in the batch's own MySQL transaction, so they are stored exactly
once, with its rows, and a replayed batch adds nothing; its timings (duration and lag from
Spark's progress, the MySQL write latency) are known only afterwards and go with the next batch.
Minutes past stats.retention are pruned beside, once a minute, a bounded number of rows at a time."""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any, Callable

from cryptostream.core.config import Config
from cryptostream.pipeline.stats import Figure
from cryptostream.pipeline.stats.names import (BATCH_DURATION, LAG, MESSAGES_PROCESSED, MYSQL_WRITE,
                                               MYSQL_WRITE_FAILURES, PROCESSOR, WARM_UP_BATCHES, WARM_UP_DURATION,
                                               WINDOWS_WRITTEN, rejected)
from cryptostream.pipeline.stats.run_stats import Figures, Row, for_program, minute_of, minute_start


def counts(messages: int, windows: int, reasons: dict[str, int]) -> Figures:
    """A batch's counts as figures: messages applied, windows written, rejects by reason."""
    figures = {MESSAGES_PROCESSED: messages, WINDOWS_WRITTEN: windows,
               **{rejected(reason): n for reason, n in reasons.items()}}
    made = {}
    for metric, n in figures.items():
        if n:
            made[metric] = Figure()
            made[metric].add(n)
    return made


class BatchStats:
    """The processor run's figures; rows_for() and committed() bracket each batch's transaction."""

    def __init__(self, config: Config, clock: Callable[[], float] = time.time) -> None:
        self.run = for_program(PROCESSOR, config, clock)
        self.clock = clock
        self.retention = timedelta(seconds=config.stats.retention)
        self.progress_reports = 0  # Spark progress reports of this run: the first ones are warm-up
        self._pending: tuple[int, Figures] | None = None
        self._pruned_minute: int | None = None
        self._lock = threading.Lock()  # progress() comes from Spark's listener thread

    def rows_for(self, batch_counts: Figures) -> list[Row]:
        """Rows to write in a batch's transaction: every minute held, the batch's counts added."""
        minute, rows = self.run.pending(batch_counts)
        self._pending = (minute, batch_counts)
        return rows

    def committed(self, result: Any) -> None:
        """The batch's transaction committed (a sink BatchResult): its counts and write time are
        now the run's; minutes before the current one are stored for good, if the rows went in."""
        if result.skipped or self._pending is None:
            return  # applied before a crash: the first attempt's transaction holds its figures
        minute, batch_counts = self._pending
        self._pending = None
        self.run.merge(minute, batch_counts)
        self.run.observe(MYSQL_WRITE, result.write_ms / 1000)
        self.run.add(MYSQL_WRITE_FAILURES, result.attempts - 1)
        if result.stats_stored:
            self.run.written(minute)

    def progress(self, duration_ms: float | None, behind: int | None) -> None:
        """One of Spark's progress reports: the micro-batch's duration and the offsets behind."""
        with self._lock:
            self.progress_reports += 1
            warm_up = self.progress_reports <= WARM_UP_BATCHES
        if duration_ms is not None:
            self.run.observe(WARM_UP_DURATION if warm_up else BATCH_DURATION, duration_ms / 1000)
        if behind is not None:
            self.run.observe(LAG, behind)

    def flush(self, sink: Any) -> None:
        """Every minute held, in a transaction of its own (at start: the run's start; at stop)."""
        minute, rows = self.run.pending()
        if sink.write_stats(rows):
            self.run.written(minute)

    def prune_before(self) -> Any:
        """The oldest minute to keep, once per minute (else None): older rows are due for deletion."""
        minute = minute_of(self.clock())
        if minute == self._pruned_minute:
            return None
        self._pruned_minute = minute
        return minute_start(minute) - self.retention
