"""The MySQL sink: applies one micro-batch in one transaction, exactly once.

The batch id is stored in stream_progress in the same transaction as the rows, so a batch
Spark replays after a crash is recognised and skipped: no row is counted twice, none is lost.
Windows are merged with what earlier batches stored (sum and count are kept, so the average
stays exact). What each batch counted in windows still open is kept too, as key and offset
ranges (counted_ranges.py), so a repeated delivery in a later batch is recognised. The
batch's per-minute statistics (pipeline_stats) and its messages' latencies (message_latency) go
in the same transaction; a statistics statement MySQL refuses (no such table yet, no grant)
never costs the batch.
"""
from __future__ import annotations

import json
import time
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import structlog

from cryptostream.core import db, events
from cryptostream.core.config import Config
from cryptostream.pipeline.processor import latency
from cryptostream.pipeline.processor.counted_ranges import CountedRange, Earlier
from cryptostream.pipeline.processor.reject_rows import reject_chunks, reject_params
from cryptostream.pipeline.processor.transactions import Transactions, describe
from cryptostream.pipeline.processor.windows import Window, epoch_ms, utc
from cryptostream.pipeline.stats import table as stats_table

NO_WATERMARK = -(2**62)
STATS_PAUSE = 600.0  # seconds without statistics after MySQL refused their statement (one warning each time)
log = structlog.get_logger("sink")


@dataclass
class BatchResult:
    windows: int = 0
    inserted: int = 0
    rejected: int = 0
    skipped: bool = False
    write_ms: float = 0.0
    attempts: int = 0
    stats_stored: bool = True  # the batch's statistics rows went in with it
    latency: latency.Distribution | None = None  # of the messages counted, to the commit (since ingest)
    trade_latency: latency.Distribution | None = None  # of the trades counted, since the exchange's event


class MySQLSink:
    """The statements of sql/sink.sql over one long-lived connection (transactions.py)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.window_ms = int(config.processor.window * 1000)
        self.sql = db.named_statements("sink")
        self.transactions = Transactions(config)
        self._stats_paused_until = self._prune_paused_until = self._latency_paused_until = 0.0

    def progress(self) -> tuple[int, int, dict[str, dict[str, int]]]:
        """(last applied batch id or -1, watermark ms, offsets read so far) as committed."""
        def read(cursor: Any) -> tuple[int, int, dict]:
            cursor.execute(self.sql["read_progress"], (self.config.processor.query_name,))
            row = cursor.fetchone()
            return (row[0], row[1], json.loads(row[2])) if row else (-1, NO_WATERMARK, {})
        return self.transactions.run(read, commit=False)[0]

    def counted_before(self, ranges: list[CountedRange]) -> Earlier:
        """What earlier batches counted in this batch's windows that its ranges overlap (the
        only places a copy can be): one indexed query, which normally finds nothing."""
        if not ranges:
            return Earlier()

        def read(cursor: Any) -> Earlier:
            more = " UNION ALL SELECT %s, %s, %s, %s, %s, %s" * (len(ranges) - 1)
            cursor.execute(self.sql["counted_overlapping"].format(more=more),
                           [value for r in ranges for value in r.bounds()])
            found, keys = [], set()
            for symbol, window_start, batch_id, offsets, key_list in cursor.fetchall():
                if key_list is not None:  # kept before ranges replaced key lists
                    keys |= {(symbol, key) for key in zlib.decompress(key_list).decode().split(",")}
                else:
                    found.append((batch_id, CountedRange(symbol, window_start, None, None, json.loads(offsets))))
            return Earlier(tuple(found), frozenset(keys))
        return self.transactions.run(read, commit=False)[0]

    def write_batch(self, batch_id: int, windows: list[Window], rejects: list[dict[str, Any]],
                    offsets: dict[str, dict[str, int]], watermark_ms: int,
                    ranges: Iterable[CountedRange] = (), stats: list[tuple] = (),
                    ages: latency.Ages | None = None) -> BatchResult:
        def apply(cursor: Any) -> BatchResult:
            result = self._apply(cursor, batch_id, windows, rejects, offsets, watermark_ms, stats)
            if not result.skipped:
                self._keep_ranges(cursor, batch_id, ranges, watermark_ms)
                if ages is not None:
                    self._store_latency(cursor, batch_id, ages, result)
            return result
        return self._timed(apply)

    def quarantine_batch(self, batch_id: int, messages: list[dict[str, Any]],
                         offsets: dict[str, dict[str, int]], watermark_ms: int,
                         stats: list[tuple] = ()) -> BatchResult:
        """Record every message of a batch that cannot be stored as "quarantined" (position,
        length, SHA-256; no content, no windows) and the batch as applied, in one transaction,
        so the query moves on and the messages can be found again in Kafka."""
        return self._timed(lambda cursor: self._apply(cursor, batch_id, [], messages, offsets, watermark_ms, stats))

    def write_stats(self, rows: list[tuple]) -> bool:
        """Statistics rows in a transaction of their own, one attempt; False (logged) if MySQL did
        not take them: they are kept and go with a later batch."""
        try:
            return self.transactions.run(lambda cursor: self._store_stats(cursor, rows), commit=True, attempts=1)[0]
        except Exception as exc:  # noqa: BLE001 - statistics never stop the processor
            log.warning(events.STATS_WRITE_FAILED, error=describe(exc), rows=len(rows))
            return False

    def prune_stats(self, oldest_kept: Any) -> int:
        """Delete a bounded number of statistics rows older than `oldest_kept`."""
        return self._prune("pipeline_stats", lambda cursor: stats_table.prune(cursor, oldest_kept), oldest_kept)

    def prune_latency(self, oldest_kept: Any) -> int:
        """Delete a bounded number of message_latency rows committed before `oldest_kept`."""
        def prune(cursor: Any) -> int:
            cursor.execute(self.sql["prune_latency"], (oldest_kept, stats_table.PRUNE_LIMIT))
            return cursor.rowcount
        return self._prune("message_latency", prune, oldest_kept)

    def _prune(self, table: str, delete: Callable[[Any], int], oldest_kept: Any) -> int:
        """delete(cursor) committed; one attempt, and after a failure no pruning for STATS_PAUSE
        (pruning can wait; a warning a minute would not help)."""
        if time.monotonic() < self._prune_paused_until:
            return 0
        try:
            deleted = self.transactions.run(delete, commit=True, attempts=1)[0]
        except Exception as exc:  # noqa: BLE001 - statistics never stop the processor
            self._prune_paused_until = time.monotonic() + STATS_PAUSE
            log.warning(events.STATS_WRITE_FAILED, error=describe(exc), detail=f"pruning {table}",
                        paused_s=STATS_PAUSE)
            return 0
        if deleted:
            log.info(events.STATS_PRUNED, table=table, rows=deleted, before=str(oldest_kept))
        return deleted

    def healthy(self) -> bool:
        """Does MySQL answer a trivial statement now? Tells a batch MySQL cannot take apart
        from MySQL being away."""
        return self.transactions.healthy(self.sql["ping"])

    def close(self) -> None:
        self.transactions.close()

    def _timed(self, apply: Callable[[Any], BatchResult]) -> BatchResult:
        """apply(cursor) committed, with the milliseconds and attempts it took."""
        started = time.monotonic()
        result, attempts = self.transactions.run(apply, commit=True)
        result.write_ms, result.attempts = (time.monotonic() - started) * 1000, attempts
        return result

    def _apply(self, cursor: Any, batch_id: int, windows: list[Window], rejects: list[dict[str, Any]],
               offsets: dict[str, dict[str, int]], watermark_ms: int, stats: list[tuple] = ()) -> BatchResult:
        name = self.config.processor.query_name
        cursor.execute(self.sql["lock_progress"], (name,))
        row = cursor.fetchone()
        if row and row[0] >= batch_id:
            return BatchResult(skipped=True)  # applied before a crash; Spark is replaying it
        stored = self._lock_windows(cursor, windows)
        new = [w for w in windows if (w.symbol, w.start) not in stored]
        updates = [stored[(w.symbol, w.start)].merge(w) for w in windows if (w.symbol, w.start) in stored]
        if new:
            cursor.executemany(self.sql["insert_window"], [self._insert_params(w) for w in new])
        if updates:
            cursor.executemany(self.sql["update_window"], [self._update_params(w) for w in updates])
        for chunk in reject_chunks([reject_params(r) for r in rejects]):
            cursor.executemany(self.sql["insert_rejected"], chunk)
        offsets_json = json.dumps(offsets, sort_keys=True)
        cursor.execute(self.sql["save_progress"], (name, batch_id, watermark_ms, offsets_json,
                                                   batch_id, watermark_ms, offsets_json))
        return BatchResult(windows=len(windows), inserted=len(new), rejected=len(rejects),
                           stats_stored=self._store_stats(cursor, stats))

    def _store_stats(self, cursor: Any, rows: list[tuple]) -> bool:
        """Upsert statistics rows in the open transaction. A statement MySQL refuses is rolled
        back alone, so the batch still commits; statistics then pause for STATS_PAUSE."""
        if not rows:
            return True
        if time.monotonic() < self._stats_paused_until:
            return False
        try:
            stats_table.upsert(cursor, rows)
            return True
        except stats_table.STATEMENT_ERRORS as exc:
            self._stats_paused_until = time.monotonic() + STATS_PAUSE
            log.warning(events.STATS_WRITE_FAILED, error=describe(exc), rows=len(rows), paused_s=STATS_PAUSE,
                        detail="statistics kept in memory; the micro-batch is stored without them")
            return False

    def _store_latency(self, cursor: Any, batch_id: int, ages: latency.Ages, result: BatchResult) -> None:
        """The batch's per-message latencies, to now: the last statement before COMMIT, so the
        row commits (or not) with the batch and a replay adds none. Skipped when the batch
        counted no message; a statement MySQL refuses pauses them like the statistics."""
        if not ages.ingest or time.monotonic() < self._latency_paused_until:
            return
        commit_ms = int(time.time() * 1000)
        since_ingest = latency.latencies(ages.ingest, ages.reference_ms, commit_ms)
        since_event = latency.latencies(ages.trade_event, ages.reference_ms, commit_ms)
        row = (self.config.processor.query_name, batch_id, utc(commit_ms), since_ingest.messages,
               latency.encode(since_ingest), since_ingest.max_ms, since_event.messages,
               latency.encode(since_event) or None, since_event.max_ms)
        try:
            cursor.execute(self.sql["insert_latency"], row)
        except stats_table.STATEMENT_ERRORS as exc:
            self._latency_paused_until = time.monotonic() + STATS_PAUSE
            log.warning(events.STATS_WRITE_FAILED, error=describe(exc), detail="message_latency", paused_s=STATS_PAUSE)
            return
        result.latency, result.trade_latency = since_ingest, since_event

    def _keep_ranges(self, cursor: Any, batch_id: int, ranges: Iterable[CountedRange], watermark_ms: int) -> None:
        """Store this batch's counted ranges; forget those of windows the watermark has closed
        (a later copy of their prices is late)."""
        rows = [r.row(batch_id) for r in ranges]
        if rows:
            cursor.executemany(self.sql["insert_counted"], rows)
        if watermark_ms != NO_WATERMARK:
            cursor.execute(self.sql["purge_counted"], (utc(watermark_ms - self.window_ms),))

    def _lock_windows(self, cursor: Any, windows: Iterable[Window]) -> dict[tuple, Window]:
        keys = sorted({(w.symbol, w.start) for w in windows})
        if not keys:
            return {}
        sql = self.sql["lock_windows"].format(keys=", ".join(["(%s, %s)"] * len(keys)))
        cursor.execute(sql, [value for key in keys for value in key])
        return {(r[0], r[1]): Window(*r[:2], r[2], int(r[3]), *r[4:]) for r in cursor.fetchall()}

    def _insert_params(self, w: Window) -> tuple:
        end = utc(epoch_ms(w.start) + self.window_ms)
        return (w.symbol, w.start, end, w.average, w.min_price, w.max_price, w.open_price,
                w.close_price, w.sample_count, w.price_sum, w.first_event, w.last_event, w.newest_ingest,
                w.volume, w.notional, w.vwap)

    @staticmethod
    def _update_params(w: Window) -> tuple:
        return (w.average, w.min_price, w.max_price, w.open_price, w.close_price, w.sample_count,
                w.price_sum, w.first_event, w.last_event, w.newest_ingest, w.volume, w.notional, w.vwap,
                w.symbol, w.start)
