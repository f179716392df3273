"""StatsWriter: a program's figures (RunStats) written to pipeline_stats every stats.write_interval,
from a thread of its own over a connection of its own, so MySQL slow or away never stalls the
producer: a failed write keeps the figures for the next one (bounded by stats.max_unwritten)."""
from __future__ import annotations

import threading
from typing import Any, Callable

import structlog

from cryptostream.core import db, events
from cryptostream.core.config import Config
from cryptostream.pipeline.stats import table
from cryptostream.pipeline.stats.run_stats import RunStats

CONNECT_TIMEOUT = 5.0  # seconds; also bounds each statement (the connector's socket timeout)
CLOSE_TIMEOUT = 6.0  # the last write at stop gets this long, then the program exits without it
log = structlog.get_logger("stats")


class StatsWriter:
    """Writes at start (the run's start counts even if it dies soon), every interval, and at stop."""

    def __init__(self, config: Config, stats: RunStats, connect: Callable[[], Any] | None = None) -> None:
        self.stats = stats
        self.interval = config.stats.write_interval
        self.connect = connect or (lambda: db.connect(config, timeout=CONNECT_TIMEOUT))
        self.failures = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> StatsWriter:
        self._thread = threading.Thread(target=self._loop, name="stats-writer", daemon=True)
        self._thread.start()
        return self

    def write(self) -> bool:
        """One attempt to store every minute held; False (logged, figures kept) if it failed."""
        current, rows = self.stats.pending()
        try:
            db.run_committed(self.connect(), lambda cursor: table.upsert(cursor, rows))
        except Exception as exc:  # noqa: BLE001 - whatever MySQL does, the figures wait for the next try
            self.failures += 1
            log.warning(events.STATS_WRITE_FAILED, program=self.stats.program, error=db.describe(exc),
                        minutes_held=self.stats.held_minutes(), failures_total=self.failures,
                        retry_in_s=self.interval)
            return False
        self.stats.written(current)
        return True

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Stop after a last write, waiting for it at most `timeout` seconds."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        self.write()
        while not self._stop.wait(self.interval):
            self.write()
        self.write()
