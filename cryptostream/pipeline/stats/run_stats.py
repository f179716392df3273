"""RunStats: one program run's figures by UTC minute, held until they are written to pipeline_stats.

A run rewrites its minutes whole (the row holds the run's figures of that minute so far), so
writing a minute again never counts twice; a restart is a new run with rows of its own, summed
on read. Holding is bounded: past max_minutes unwritten minutes the oldest is dropped, counted
and logged, so a long MySQL outage costs figures, never memory or the pipeline's progress.
"""
from __future__ import annotations

import secrets
import threading
import time
from datetime import datetime, timezone
from typing import Callable

import structlog

from cryptostream.core import events
from cryptostream.core.config import Config
from cryptostream.pipeline.stats.figure import Figure
from cryptostream.pipeline.stats.names import EDGES, STARTS, STATS_DROPPED

log = structlog.get_logger("stats")
Figures = dict[str, Figure]  # metric -> figure
Row = tuple  # (minute, program, run_id, metric, samples, total, min_value, max_value, buckets)


def minute_of(seconds: float) -> int:
    """The UTC minute (minutes since the epoch) of a time.time() value."""
    return int(seconds // 60)


def minute_start(minute: int) -> datetime:
    """The minute as pipeline_stats.minute holds it: naive UTC."""
    return datetime.fromtimestamp(minute * 60, tz=timezone.utc).replace(tzinfo=None)


def for_program(program: str, config: Config, clock: Callable[[], float] = time.time) -> RunStats:
    """A new run's figures, held for at most stats.max_unwritten while MySQL does not take them."""
    return RunStats(program, max_minutes=int(-(-config.stats.max_unwritten // 60)), clock=clock)


class RunStats:
    """What one program run counted and measured, by minute; safe to use from several threads."""

    def __init__(self, program: str, max_minutes: int = 60, clock: Callable[[], float] = time.time,
                 run_id: int | None = None) -> None:
        self.program = program
        self.run_id = secrets.randbits(62) if run_id is None else run_id  # a restart is another run
        self.max_minutes = max(1, max_minutes)
        self.clock = clock
        self.dropped = 0
        self._lock = threading.Lock()
        self._minutes: dict[int, Figures] = {}
        self._floor = 0  # minutes before this one are written for good; none is started again
        self.add(STARTS)

    def add(self, metric: str, n: int = 1) -> None:
        """n more of a count, in the current minute."""
        if n:
            with self._lock:
                self._figure(self._now(), metric).add(n)

    def observe(self, metric: str, value: float) -> None:
        """One measured value of a metric named in names.EDGES, in the current minute."""
        with self._lock:
            self._figure(self._now(), metric).observe(value, EDGES[metric])

    def pending(self, extra: Figures | None = None) -> tuple[int, list[Row]]:
        """(the current minute, rows of every minute held), with `extra` added to the current
        minute's copy only: the processor writes a batch's figures before it knows they commit."""
        with self._lock:
            now = self._now()
            held = {m: {k: f.copy() for k, f in figures.items()} for m, figures in self._minutes.items()}
        for metric, figure in (extra or {}).items():
            current = held.setdefault(now, {})
            current[metric] = current[metric].merge(figure) if metric in current else figure.copy()
        return now, [self._row(m, metric, f) for m, figures in sorted(held.items()) for metric, f in figures.items()]

    def merge(self, minute: int, extra: Figures) -> None:
        """Add figures into a minute (a batch's, once its transaction committed)."""
        with self._lock:
            minute = max(minute, self._floor)
            for metric, figure in extra.items():
                self._figure(minute, metric).merge(figure)

    def written(self, current: int) -> None:
        """Rows of pending() taken at minute `current` are stored: minutes before it are final
        and forgotten; the current one stays, to be rewritten with what it gets next."""
        with self._lock:
            for minute in [m for m in self._minutes if m < current]:
                del self._minutes[minute]
            self._floor = max(self._floor, current)

    def held_minutes(self) -> int:
        with self._lock:
            return len(self._minutes)

    def _now(self) -> int:
        return max(minute_of(self.clock()), self._floor)  # a clock stepped back cannot reopen a written minute

    def _figure(self, minute: int, metric: str) -> Figure:
        """The figure to add to (the lock is held); a new minute past the bound drops the oldest."""
        figures = self._minutes.get(minute)
        if figures is None:
            figures = self._minutes[minute] = {}
            while len(self._minutes) > self.max_minutes:
                self._drop_oldest(minute)
        return figures.setdefault(metric, Figure())

    def _drop_oldest(self, newest: int) -> None:
        oldest = min(m for m in self._minutes if m != newest)
        lost = self._minutes.pop(oldest)
        self.dropped += 1
        self._minutes[newest].setdefault(STATS_DROPPED, Figure()).add(1)
        log.error(events.STATS_DROPPED, program=self.program, minute=minute_start(oldest).isoformat(),
                    metrics=len(lost), held_minutes=self.max_minutes, dropped_total=self.dropped,
                    detail="MySQL took no figures for longer than stats.max_unwritten")

    def _row(self, minute: int, metric: str, figure: Figure) -> Row:
        return (minute_start(minute), self.program, self.run_id, metric, *figure.columns())


class NoStats:
    """For parts used outside a program run (benchmark load, tests): counts nothing, holds nothing."""

    def add(self, metric: str, n: int = 1) -> None:
        return None

    def observe(self, metric: str, value: float) -> None:
        return None
