"""The MySQL sink: applies one micro-batch in one transaction, exactly once.

The batch id is stored in stream_progress in the same transaction as the rows, so a batch
Spark replays after a crash is recognised and skipped: no row is counted twice, none is lost.
Windows are merged with what earlier batches stored (sum and count are kept, so the average
stays exact). The dedup keys of the prices counted in windows still open are kept too
(counted_keys), so a repeated delivery in a later batch is recognised as a duplicate.
"""
from __future__ import annotations

import json
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Iterable

import mysql.connector
import structlog

from cryptostream.core import db, events
from cryptostream.core.backoff import Backoff
from cryptostream.core.config import Config
from cryptostream.pipeline.schema import TIME_LIMIT_MS  # a Kafka record time outside [0, it) is stored as NULL

AVERAGE_PLACES = Decimal("0.000000000001")  # DECIMAL(32,12)
NO_WATERMARK = -(2**62)
# Rejects go to MySQL in chunks of at most this many rows and bytes of raw values: one
# multi-row INSERT stays far below max_allowed_packet (16 MiB on MariaDB) however many a
# batch has. Each raw value is at most classify.VALUE_PREFIX bytes.
REJECT_CHUNK_ROWS = 500
REJECT_CHUNK_BYTES = 1 << 20
log = structlog.get_logger("sink")


@dataclass
class Window:
    symbol: str
    start: datetime
    price_sum: Decimal
    sample_count: int
    min_price: Decimal
    max_price: Decimal
    open_price: Decimal
    close_price: Decimal
    first_event: datetime
    last_event: datetime
    newest_ingest: datetime
    volume: Decimal | None = None  # sum of the trade quantities, when prices carry them
    notional: Decimal | None = None  # sum of price x quantity

    def merge(self, later: "Window") -> "Window":
        """This window's stored aggregate extended by a later batch's partial aggregate."""
        return Window(
            self.symbol, self.start, self.price_sum + later.price_sum,
            self.sample_count + later.sample_count,
            min(self.min_price, later.min_price), max(self.max_price, later.max_price),
            later.open_price if later.first_event < self.first_event else self.open_price,
            later.close_price if later.last_event >= self.last_event else self.close_price,
            min(self.first_event, later.first_event), max(self.last_event, later.last_event),
            max(self.newest_ingest, later.newest_ingest),
            _add(self.volume, later.volume), _add(self.notional, later.notional))

    @property
    def average(self) -> Decimal:
        return (self.price_sum / self.sample_count).quantize(AVERAGE_PLACES, ROUND_HALF_EVEN)

    @property
    def vwap(self) -> Decimal | None:
        """Volume-weighted average price over the prices that carry a quantity."""
        if not self.volume:
            return None
        return (self.notional / self.volume).quantize(AVERAGE_PLACES, ROUND_HALF_EVEN)


def _add(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    return b if a is None else a if b is None else a + b


@dataclass(frozen=True)
class CountedKeys:
    """The dedup keys (schema.dedup_key) of the prices one batch counted in one window:
    "<source>:<event_time>" texts, and the event-time range they cover (to skip lists that
    cannot hold a copy)."""
    symbol: str
    window_start: datetime
    first: int
    last: int
    text: str  # comma-separated

    def values(self) -> set[str]:
        return set(self.text.split(",")) if self.text else set()

    @property
    def window(self) -> tuple[str, datetime]:
        return self.symbol, self.window_start


@dataclass
class BatchResult:
    windows: int = 0
    inserted: int = 0
    rejected: int = 0
    skipped: bool = False
    write_ms: float = 0.0
    attempts: int = 0


def utc(ms: int) -> datetime:
    """Epoch milliseconds as a naive UTC datetime (the DATETIME columns hold UTC)."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).replace(tzinfo=None)


def window_from_row(row: dict[str, Any]) -> Window:
    """A Spark aggregate row (classify.aggregate) as a Window."""
    return Window(row["symbol"], utc(row["window_start_ms"]), row["price_sum"], row["sample_count"],
                  row["min_price"], row["max_price"], row["open_price"], row["close_price"],
                  utc(row["first_event_ms"]), utc(row["last_event_ms"]), utc(row["newest_ingest_ms"]),
                  row["volume"], row["notional"])


def keys_from_row(row: dict[str, Any]) -> CountedKeys:
    """The counted keys of a Spark aggregate row (classify.aggregate)."""
    return CountedKeys(row["symbol"], utc(row["window_start_ms"]), row["first_event_ms"], row["last_event_ms"],
                       row["keys"])


class MySQLSink:
    """One long-lived connection; reconnects and retries transient errors with backoff."""

    TRANSIENT = (mysql.connector.errors.OperationalError, mysql.connector.errors.InterfaceError,
                 mysql.connector.errors.InternalError)

    def __init__(self, config: Config) -> None:
        self.config = config
        self.window_ms = int(config.processor.window * 1000)
        self.sql = db.named_statements("sink")
        self._connection = None

    def progress(self) -> tuple[int, int, dict[str, dict[str, int]]]:
        """(last applied batch id or -1, watermark ms, offsets read so far) as committed."""
        def read(cursor: Any) -> tuple[int, int, dict]:
            cursor.execute(self.sql["read_progress"], (self.config.processor.query_name,))
            row = cursor.fetchone()
            return (row[0], row[1], json.loads(row[2])) if row else (-1, NO_WATERMARK, {})
        return self._with_retries(read, commit=False)[0]

    def counted_before(self, batch_keys: list[CountedKeys]) -> set[tuple[str, str]]:
        """(symbol, key) of this batch's keys that earlier batches already counted.

        Only key lists whose range overlaps the batch's are read: in normal operation keys
        grow with time, so none is."""
        windows = sorted({k.window for k in batch_keys})
        if not windows:
            return set()

        def read(cursor: Any) -> set[tuple[str, str]]:
            cursor.execute(self.sql["counted_ranges"].format(keys=", ".join(["(%s, %s)"] * len(windows))),
                           [value for window in windows for value in window])
            stored = cursor.fetchall()
            repeated = set()
            for new in batch_keys:
                overlapping = [r[2] for r in stored if r[:2] == new.window and r[3] <= new.last and r[4] >= new.first]
                for batch_id in overlapping:
                    cursor.execute(self.sql["counted_list"], (*new.window, batch_id))
                    old = set(zlib.decompress(cursor.fetchone()[0]).decode().split(","))
                    repeated |= {(new.symbol, key) for key in old & new.values()}
            return repeated
        return self._with_retries(read, commit=False)[0]

    def write_batch(self, batch_id: int, windows: list[Window], rejects: list[dict[str, Any]],
                    offsets: dict[str, dict[str, int]], watermark_ms: int,
                    keys: Iterable[CountedKeys] = ()) -> BatchResult:
        def apply(cursor: Any) -> BatchResult:
            result = self._apply(cursor, batch_id, windows, rejects, offsets, watermark_ms)
            if not result.skipped:
                self._keep_keys(cursor, batch_id, keys, watermark_ms)
            return result
        started = time.monotonic()
        result, attempts = self._with_retries(apply, commit=True)
        result.write_ms, result.attempts = (time.monotonic() - started) * 1000, attempts
        return result

    def quarantine_batch(self, batch_id: int, messages: list[dict[str, Any]],
                         offsets: dict[str, dict[str, int]], watermark_ms: int) -> BatchResult:
        """Record every message of a batch that cannot be stored as "quarantined" (position,
        length, SHA-256; no content, no windows) and the batch as applied, in one transaction,
        so the query moves on and the messages can be found again in Kafka."""
        def apply(cursor: Any) -> BatchResult:
            return self._apply(cursor, batch_id, [], messages, offsets, watermark_ms)
        started = time.monotonic()
        result, attempts = self._with_retries(apply, commit=True)
        result.write_ms, result.attempts = (time.monotonic() - started) * 1000, attempts
        return result

    def healthy(self) -> bool:
        """Does MySQL answer a trivial statement now (one attempt, fresh connection)? Tells a
        batch MySQL cannot take apart from MySQL being away."""
        self._drop_connection()
        try:
            with self._connect().cursor() as cursor:
                cursor.execute(self.sql["ping"])
                cursor.fetchall()
            return True
        except Exception:  # noqa: BLE001 - any failure means "not healthy"; the caller re-raises its own
            self._drop_connection()
            return False

    def _apply(self, cursor: Any, batch_id: int, windows: list[Window], rejects: list[dict[str, Any]],
               offsets: dict[str, dict[str, int]], watermark_ms: int) -> BatchResult:
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
        for chunk in reject_chunks([_reject_params(r) for r in rejects]):
            cursor.executemany(self.sql["insert_rejected"], chunk)
        offsets_json = json.dumps(offsets, sort_keys=True)
        cursor.execute(self.sql["save_progress"], (name, batch_id, watermark_ms, offsets_json,
                                                   batch_id, watermark_ms, offsets_json))
        return BatchResult(windows=len(windows), inserted=len(new), rejected=len(rejects))

    def _keep_keys(self, cursor: Any, batch_id: int, keys: Iterable[CountedKeys], watermark_ms: int) -> None:
        """Store this batch's counted keys; forget those of windows the watermark has closed
        (a later copy of their prices is late)."""
        rows = [(*k.window, batch_id, k.first, k.last, zlib.compress(k.text.encode(), 1)) for k in keys if k.text]
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
        end = utc(int(w.start.replace(tzinfo=timezone.utc).timestamp() * 1000) + self.window_ms)
        return (w.symbol, w.start, end, w.average, w.min_price, w.max_price, w.open_price,
                w.close_price, w.sample_count, w.price_sum, w.first_event, w.last_event, w.newest_ingest,
                w.volume, w.notional, w.vwap)

    @staticmethod
    def _update_params(w: Window) -> tuple:
        return (w.average, w.min_price, w.max_price, w.open_price, w.close_price, w.sample_count,
                w.price_sum, w.first_event, w.last_event, w.newest_ingest, w.volume, w.notional, w.vwap,
                w.symbol, w.start)

    def _with_retries(self, work: Any, commit: bool) -> tuple[Any, int]:
        backoff = Backoff(0.5, 10.0)
        attempts = self.config.processor.mysql_retries
        for attempt in range(1, attempts + 1):
            try:
                connection = self._connect()
                with connection.cursor() as cursor:
                    result = work(cursor)
                connection.commit() if commit else connection.rollback()
                return result, attempt
            except self.TRANSIENT as exc:
                self._drop_connection()
                if attempt == attempts:
                    raise
                delay = backoff.next_delay()
                log.warning(events.MYSQL_RETRY, attempt=attempt, of=attempts, error=_describe(exc),
                            retry_in_s=round(delay, 2))
                time.sleep(delay)
            except Exception:
                self._drop_connection()
                raise
        raise AssertionError("unreachable")

    def _connect(self) -> Any:
        if self._connection is None or not self._connection.is_connected():
            self._connection = db.connect(self.config)
        return self._connection

    def _drop_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # noqa: BLE001 - the connection is being discarded anyway
                pass
        self._connection = None

    def close(self) -> None:
        self._drop_connection()


def _reject_params(r: dict[str, Any]) -> tuple:
    """A reject as insert_rejected's parameters; key and value may be absent (a batch stored
    without them, or quarantined)."""
    stamp = r.get("record_ms")
    kafka_time = utc(stamp) if stamp is not None and 0 <= stamp < TIME_LIMIT_MS else None
    return (r["topic"], r["partition"], r["offset"], kafka_time, _bytes(r.get("key")), _bytes(r.get("value")),
            r.get("value_length"), r.get("value_sha256"), r["reason"])


def _bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def reject_chunks(params: list[tuple], rows: int = REJECT_CHUNK_ROWS,
                  size: int = REJECT_CHUNK_BYTES) -> Iterable[list[tuple]]:
    """`params` in consecutive chunks of at most `rows` rows and about `size` bytes of key
    and value (a single larger row still goes alone)."""
    chunk: list[tuple] = []
    used = 0
    for row in params:
        weight = len(row[4] or b"") + len(row[5] or b"")
        if chunk and (len(chunk) >= rows or used + weight > size):
            yield chunk
            chunk, used = [], 0
        chunk.append(row)
        used += weight
    if chunk:
        yield chunk


def _describe(exc: Exception) -> str:
    """Error class and MySQL errno only: messages can echo statements or credentials."""
    return f"{type(exc).__name__}({getattr(exc, 'errno', None)})"
