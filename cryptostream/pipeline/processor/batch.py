"""One micro-batch (foreachBatch): classified and aggregated in Spark, then written to MySQL
in one transaction; a batch MySQL answers for but will not take, or Spark cannot compute, is
set aside rather than failing the query forever."""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from functools import cache
from typing import Any

import structlog
from prometheus_client import Counter

from cryptostream.core import events, metrics
from cryptostream.core.config import Config
from cryptostream.pipeline.processor import batch_size, classify, code_mode, earlier_keys, jvm_pass, partials
from cryptostream.pipeline.processor.batch_stats import BatchStats, counts
from cryptostream.pipeline.processor.counted_ranges import range_from_row
from cryptostream.pipeline.processor.sink import MySQLSink
from cryptostream.pipeline.processor.transactions import describe
from cryptostream.pipeline.processor.windows import utc, window_from_row
from cryptostream.pipeline.schema import Reason

log = structlog.get_logger("processor")
BATCHES_SET_ASIDE = Counter("cryptostream_batches_set_aside_total",
                            "Micro-batches MySQL would not take as they were, by what was done "
                            "(stripped: rejects stored without key and value; quarantined: every "
                            "message recorded by position only, no window written)", ["action"])


class _Unprocessable(RuntimeError):
    """Spark failed twice on a batch while MySQL answers: its content is the problem."""


class ShuttingDown(RuntimeError):
    """Raised into Spark for a batch that arrives while the processor is stopping."""


class BatchHandler:
    """foreachBatch: classify and aggregate in Spark, then one MySQL transaction."""

    def __init__(self, config: Config, sink: MySQLSink) -> None:
        self.config = config
        self.sink = sink
        self.stats: dict[int, dict[str, Any]] = {}  # per batch id: fields of its log line
        self.minute_stats = BatchStats(config)  # pipeline_stats, written with each batch
        self.busy = threading.Lock()
        self.stopping = threading.Event()
        self.watermark_delay_ms = int(config.processor.watermark * 1000)
        self.latency_retention = timedelta(seconds=config.stats.latency_retention)

    def __call__(self, batch: Any, batch_id: int) -> None:
        with self.busy:
            if self.stopping.is_set():
                # nothing written: the batch stays uncommitted and is replayed at the next start
                raise ShuttingDown(f"batch {batch_id} left for replay: processor is stopping")
            self._apply(batch, batch_id)

    def stop_between_batches(self, query: Any) -> None:
        """Let a running batch finish, refuse new ones, then stop the query.

        Stopping a query interrupts whatever Spark job is running; inside foreachBatch that
        surfaces as an error from the middle of our callback, so we wait for it instead."""
        self.stopping.set()
        with self.busy:
            pass
        query.stop()

    def _apply(self, batch: Any, batch_id: int) -> None:
        last_batch, watermark_ms, offsets = self.sink.progress()
        metrics.WATERMARK.set(watermark_ms / 1000)  # the committed one; kept by us, not by Spark
        if batch_id <= last_batch:
            log.info(events.BATCH_ALREADY_APPLIED, batch_id=batch_id, last_applied=last_batch)
            return
        rules = classify.Rules(self.config.exchange.symbols, int(self.config.processor.window * 1000),
                               int(self.config.processor.max_future_skew * 1000), watermark_ms,
                               int(time.time() * 1000))
        timings: dict[str, float] = {}
        try:
            summary = self._compute_twice(self._planned(batch, batch_id, timings), rules, offsets, timings)
        except _Unprocessable:
            result = self._quarantine(batch, batch_id, offsets, watermark_ms)
            self.stats[batch_id] = {"rejected": result.rejected, "quarantined": True}
            self._after_commit(result)
            return
        newest = max((a["last_event_ms"] for a in summary.aggregates), default=None)
        next_watermark = watermark_ms if newest is None else max(watermark_ms, newest - self.watermark_delay_ms)
        result, rejects = self._write(batch, batch_id, summary, offsets, (watermark_ms, next_watermark))
        self._after_commit(result)
        _observe_latency(result)
        metrics.WATERMARK.set(next_watermark / 1000)
        metrics.WINDOWS_WRITTEN.inc(result.windows)
        metrics.MYSQL_WRITE.observe(result.write_ms / 1000)
        metrics.MYSQL_WRITE_FAILURES.inc(result.attempts - 1)
        for reason, count in _count_reasons(rejects).items():
            metrics.REJECTED.labels(reason).inc(count)
        self.stats[batch_id] = {"windows_written": result.windows, "windows_new": result.inserted,
                                "rejected": result.rejected, "write_ms": round(result.write_ms, 1),
                                "write_attempts": result.attempts, "skipped": result.skipped or None,
                                "watermark_ms": next_watermark,
                                "latency_max_ms": result.latency and result.latency.max_ms,
                                "rejected_by_reason": _count_reasons(rejects) or None, **timings}

    def _write(self, batch: Any, batch_id: int, summary: partials.Summary, offsets: dict,
               watermarks: tuple[int, int]) -> tuple[Any, list[dict]]:
        """Store the batch. If MySQL answers but will not take it, try again, then store the
        rejects without key and value, then, as a last resort, record every message by Kafka
        position only ("quarantined", no window written) and move on: a batch that fails is
        replayed, and fails, forever. Returns the result and the rejects stored."""
        rejects = summary.rejects
        stripped = [{**r, "key": None, "value": None} for r in rejects]
        for action, these in (("as_is", rejects), ("again", rejects), ("stripped", stripped)):
            if action == "stripped":
                BATCHES_SET_ASIDE.labels(action).inc()
            try:
                return self._write_whole(batch_id, summary, these, offsets, watermarks[1]), these
            except Exception as exc:  # noqa: BLE001 - any failure: MySQL's health decides below
                self._unless_mysql_is_away(exc)
                log.error(events.BATCH_WRITE_REFUSED, batch_id=batch_id, attempt=action, error=describe(exc),
                          rejects=len(rejects))
        return self._quarantine(batch, batch_id, offsets, watermarks[0]), []

    def _quarantine(self, batch: Any, batch_id: int, offsets: dict, watermark_ms: int) -> Any:
        """Every message of the batch recorded as "quarantined" by position, length and
        SHA-256, no window written, the watermark kept; loudly."""
        quarantined = self._positions(batch)
        BATCHES_SET_ASIDE.labels("quarantined").inc()
        metrics.REJECTED.labels(Reason.QUARANTINED).inc(len(quarantined))
        log.error(events.BATCH_QUARANTINED, batch_id=batch_id, messages=len(quarantined),
                  detail="no window written; find them with: SELECT * FROM rejected_messages "
                         "WHERE reason = 'quarantined'")
        for topic, partitions in _next_offsets(quarantined).items():
            offsets.setdefault(topic, {}).update(partitions)
        stats = self.minute_stats.rows_for(counts(len(quarantined), 0, {Reason.QUARANTINED: len(quarantined)}))
        return self.sink.quarantine_batch(batch_id, quarantined, offsets, watermark_ms, stats)

    def _after_commit(self, result: Any) -> None:
        """The batch's figures are the run's now; once a minute, old statistics and latency
        records are pruned."""
        self.minute_stats.committed(result)
        oldest_kept = self.minute_stats.prune_before()
        if oldest_kept is not None:
            self.sink.prune_stats(oldest_kept)
            self.sink.prune_latency(utc(int(time.time() * 1000)) - self.latency_retention)

    def _unless_mysql_is_away(self, exc: BaseException) -> None:
        """Re-raise `exc` when MySQL does not answer: an outage fails the query, supervisord
        restarts the processor and the batch is replayed from the checkpoint, as before."""
        if not self.sink.healthy():
            raise exc

    def _write_whole(self, batch_id: int, summary: partials.Summary, rejects: list[dict], offsets: dict,
                     watermark_ms: int) -> Any:
        windows = [window_from_row(a) for a in summary.aggregates]
        valid = sum(a["sample_count"] for a in summary.aggregates)
        stats = self.minute_stats.rows_for(counts(valid + len(rejects), len(windows), _count_reasons(rejects)))
        return self.sink.write_batch(batch_id, windows, rejects, offsets, watermark_ms,
                                     [range_from_row(a) for a in summary.aggregates], stats, summary.ages)

    @staticmethod
    def _positions(batch: Any) -> list[dict]:
        """Every message of the batch as a "quarantined" reject: position, length, SHA-256."""
        rows = classify.positions(batch).collect()
        return [{**row.asDict(), "reason": Reason.QUARANTINED} for row in rows]

    def _compute_twice(self, batch: Any, rules: classify.Rules, offsets: dict,
                       timings: dict[str, float]) -> partials.Summary:
        """_compute, tried again once if Spark fails (a broker hiccup), the second time by Spark
        SQL expressions (a fault of the Java pass costs speed, not the batch); a second failure
        while MySQL answers makes the batch _Unprocessable (a message Spark cannot handle)."""
        for attempt, way in ((1, self.config.processor.summary), (2, "sql")):
            try:
                return self._compute(batch, rules, offsets, timings, way)
            except Exception as exc:  # noqa: BLE001 - Spark's errors come as many classes
                if self.stopping.is_set():
                    raise
                log.error(events.BATCH_COMPUTE_FAILED, attempt=attempt, summary=way, error=describe(exc))
                if attempt == 2:
                    self._unless_mysql_is_away(exc)
                    raise _Unprocessable() from exc
        raise AssertionError("unreachable")

    def _compute(self, batch: Any, rules: classify.Rules, offsets: dict, timings: dict[str, float],
                 way: str) -> partials.Summary:
        """Spark work of one batch: window aggregates, rejected rows, the counted messages'
        times (for their latency); advances `offsets` once
        all of it has succeeded (so a failed attempt leaves them as they were).
        `timings` gets the milliseconds of each step (the batch log line shows them)."""
        clock = _Stopwatch(timings)
        compiled = _compilations(batch)
        timings["summary"] = way
        if way == "jvm":
            summary = _collected(jvm_pass.summarise(batch, rules), rules)
            clock.lap("aggregate_ms")
        else:
            summary = self._sql_summary(batch, rules, clock)
        earlier = self.sink.counted_before([range_from_row(a) for a in summary.aggregates])
        clock.lap("dedup_lookup_ms")
        if earlier or any(a["distinct_keys"] != a["sample_count"] for a in summary.aggregates):
            # rare: a price that may be delivered twice; the batch is read again with the copies marked
            seen = earlier_keys.keys_frame(batch.sparkSession, self.config, rules, earlier)
            late = any(r["reason"] == Reason.LATE for r in summary.rejects)
            classified = classify.classify(batch, rules if late else rules.without_watermark())
            summary = _collected(classify.summarise(classify.mark_duplicates(classified, seen), rules), rules)
            clock.lap("dedup_again_ms")
        for topic, partitions in summary.next_offsets.items():
            offsets.setdefault(topic, {}).update(partitions)
        timings["code_compilations"] = _compilations(batch) - compiled
        timings["driver_rows"] = summary.groups
        return summary

    def _planned(self, batch: Any, batch_id: int, timings: dict[str, Any]) -> Any:
        """A small batch in one partition: Spark then aggregates it in one task, with no
        shuffle (a batch of five messages otherwise runs seven tasks, each generating the
        aggregation's code again), and with interpreted expressions (code_mode.py)."""
        below = self.config.processor.one_task_below
        size = batch_size.messages(self.config.checkpoint_dir, batch_id) if below else None
        timings["one_task"] = size is not None and size < below
        code_mode.use(batch.sparkSession, interpreted=timings["one_task"])
        return batch.coalesce(1) if timings["one_task"] else batch

    @staticmethod
    def _sql_summary(batch: Any, rules: classify.Rules, clock: _Stopwatch) -> partials.Summary:
        """The summary by Spark SQL expressions. The watermark moves with nearly every batch; as
        a literal in the plan it would make Spark generate, compile and JIT-compile new code
        each time (most of a small batch's CPU). So the batch is read without it, and again with
        it only when one of its windows is closed (rare): only then can a row of it be late."""
        summary = _collected(classify.summarise(classify.classify(batch, rules.without_watermark()), rules), rules)
        clock.lap("aggregate_ms")
        if any(rules.closed(a["window_start_ms"]) for a in summary.aggregates):
            summary = _collected(classify.summarise(classify.classify(batch, rules), rules), rules)
            clock.lap("late_again_ms")
        return summary


def _collected(summary_rows: Any, rules: classify.Rules) -> partials.Summary:
    """A summary's rows (classify.summarise's columns) collected and combined across partitions."""
    return partials.combine([row.asDict() for row in summary_rows.collect()], rules.now_ms)


def _observe_latency(result: Any) -> None:
    """The committed batch's per-message latencies into the Prometheus histogram, bucket by bucket."""
    for since, distribution in (("ingest", result.latency), ("trade_event", result.trade_latency)):
        if distribution is not None and distribution.buckets:
            metrics.MESSAGE_LATENCY.add(since, {edge / 1000: n for edge, n in distribution.buckets.items()})


def _compilations(batch: Any) -> int:
    """Java sources Spark has compiled in this JVM so far. Once warm, a batch should compile
    none: a value that changes per batch inside generated code costs a compilation and new JIT
    work every batch (see age_columns.BATCH_START)."""
    return _compilation_metric(batch.sparkSession._jvm).getCount()


@cache
def _compilation_metric(jvm: Any) -> Any:
    """Spark's histogram of compilation times, looked up once (each name on the way is a call into the JVM)."""
    return jvm.org.apache.spark.metrics.source.CodegenMetrics.METRIC_COMPILATION_TIME()


class _Stopwatch:
    """Milliseconds since the last lap, recorded under each lap's name."""

    def __init__(self, laps: dict[str, float]) -> None:
        self.laps = laps
        self.last = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.laps[name] = round((now - self.last) * 1000, 1)
        self.last = now


def _next_offsets(messages: list[dict]) -> dict[str, dict[str, int]]:
    """{topic: {partition: one past the highest offset}} of the messages."""
    offsets: dict[str, dict[str, int]] = {}
    for m in messages:
        partitions = offsets.setdefault(m["topic"], {})
        partitions[str(m["partition"])] = max(partitions.get(str(m["partition"]), 0), m["offset"] + 1)
    return offsets


def _count_reasons(rejects: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for reject in rejects:
        counts[reject["reason"]] = counts.get(reject["reason"], 0) + 1
    return counts
