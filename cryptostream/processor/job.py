"""The processor: a Spark Structured Streaming query from Kafka to MySQL.

Each micro-batch is classified and aggregated per (symbol, event-time window) in Spark, then
merged into MySQL by the sink in one transaction. The event-time watermark is kept with the
rows (stream_progress) rather than in Spark's state store: Spark drops late rows silently,
while here a row for a window already closed by the watermark is stored in
rejected_messages with reason "late", and a replayed batch sees the same watermark it saw
the first time.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from typing import Any

import structlog
from prometheus_client import Counter

from cryptostream import config as config_module
from cryptostream import metrics
from cryptostream.config import Config, ConfigError, memory_bytes
from cryptostream.logs import configure
from cryptostream.processor import classify, partials
from cryptostream.processor.sink import MySQLSink, keys_from_row, window_from_row
from cryptostream.schema import Reason
from cryptostream.shipped_files import CONF_DIR

log = structlog.get_logger("processor")
# Driver memory a message of a micro-batch may cost at most: a reject reaches Python as its
# Kafka position, the first classify.VALUE_PREFIX bytes of its value and KEY_PREFIX of its
# key, with Python's object overhead; a valid one as a dedup key. The Kafka source bounds a
# batch only by message count (Spark 4.2 has no maxBytesPerTrigger for Kafka), so the count
# is capped to fit a quarter of the driver's memory whatever the messages' size.
DRIVER_BYTES_PER_MESSAGE = 4096
DRIVER_MEMORY_SHARE = 4
BATCHES_SET_ASIDE = Counter("cryptostream_batches_set_aside_total",
                            "Micro-batches MySQL would not take as they were, by what was done "
                            "(stripped: rejects stored without key and value; quarantined: every "
                            "message recorded by position only, no window written)", ["action"])


class _Unprocessable(RuntimeError):
    """Spark failed twice on a batch while MySQL answers: its content is the problem."""


class ShuttingDown(RuntimeError):
    """Raised into Spark for a batch that arrives while the processor is stopping."""


class MissingJars(RuntimeError):
    """The Kafka connector jars were not resolved at set-up."""


class CheckpointUnwritable(RuntimeError):
    """The checkpoint folder cannot be written."""


def spark_jars(config: Config) -> list[str]:
    jars = sorted(str(p) for p in (config.jars_dir / "spark").glob("*.jar"))
    if not jars:
        raise MissingJars(f"no Spark Kafka connector jars in {config.jars_dir / 'spark'}: run bin/up "
                          "(it resolves them from Maven Central once)")
    return jars


def build_session(config: Config) -> Any:
    from pyspark.sql import SparkSession
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # driver, block manager: loopback only
    settings = config.processor
    java_options = (f"-Dlog4j2.configurationFile=file:{CONF_DIR}/log4j2-spark.properties "
                    f"-Dcryptostream.conf={CONF_DIR} -Dcryptostream.component=spark")
    builder = (SparkSession.builder.appName("cryptostream-processor").master(settings.spark_master)
               .config("spark.jars", ",".join(spark_jars(config)))
               .config("spark.driver.memory", settings.driver_memory)
               .config("spark.executor.memory", settings.executor_memory)
               .config("spark.driver.extraJavaOptions", java_options)
               .config("spark.executor.extraJavaOptions", java_options)
               .config("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.adaptive.enabled", "false")  # not used by streaming; avoids a warning
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.streaming.stopGracefullyOnShutdown", "true"))
    if settings.cores_max:
        builder = builder.config("spark.cores.max", str(settings.cores_max))
    return builder.getOrCreate()


class BatchHandler:
    """foreachBatch: classify and aggregate in Spark, then one MySQL transaction."""

    def __init__(self, config: Config, sink: MySQLSink) -> None:
        self.config = config
        self.sink = sink
        self.stats: dict[int, dict[str, Any]] = {}
        self.busy = threading.Lock()
        self.stopping = threading.Event()
        self.watermark_delay_ms = int(config.processor.watermark * 1000)

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
        if batch_id <= last_batch:
            log.info("batch_already_applied", batch_id=batch_id, last_applied=last_batch)
            return
        rules = classify.Rules(self.config.exchange.symbols, int(self.config.processor.window * 1000),
                               int(self.config.processor.max_future_skew * 1000), watermark_ms)
        timings: dict[str, float] = {}
        try:
            aggregates, rejects = self._compute_twice(batch, rules, offsets, timings)
        except _Unprocessable:
            result = self._quarantine(batch, batch_id, offsets, watermark_ms)
            self.stats[batch_id] = {"rejected": result.rejected, "quarantined": True}
            return
        newest = max((a["last_event_ms"] for a in aggregates), default=None)
        next_watermark = watermark_ms if newest is None else max(watermark_ms, newest - self.watermark_delay_ms)
        result, rejects = self._write(batch, batch_id, aggregates, rejects, offsets, (watermark_ms, next_watermark))
        metrics.WINDOWS_WRITTEN.inc(result.windows)
        metrics.MYSQL_WRITE.observe(result.write_ms / 1000)
        metrics.MYSQL_WRITE_FAILURES.inc(result.attempts - 1)
        for reason, count in _count_reasons(rejects).items():
            metrics.REJECTED.labels(reason).inc(count)
        self.stats[batch_id] = {"windows_written": result.windows, "windows_new": result.inserted,
                                "rejected": result.rejected, "write_ms": round(result.write_ms, 1),
                                "write_attempts": result.attempts, "skipped": result.skipped or None,
                                "watermark_ms": next_watermark,
                                "rejected_by_reason": _count_reasons(rejects) or None, **timings}

    def _write(self, batch: Any, batch_id: int, aggregates: list[dict], rejects: list[dict], offsets: dict,
               watermarks: tuple[int, int]) -> tuple[Any, list[dict]]:
        """Store the batch. If MySQL answers but will not take it, try again, then store the
        rejects without key and value, then, as a last resort, record every message by Kafka
        position only ("quarantined", no window written) and move on: a batch that fails is
        replayed, and fails, forever. Returns the result and the rejects stored."""
        stripped = [{**r, "key": None, "value": None} for r in rejects]
        for action, these in (("as_is", rejects), ("again", rejects), ("stripped", stripped)):
            if action == "stripped":
                BATCHES_SET_ASIDE.labels(action).inc()
            try:
                return self._write_whole(batch_id, aggregates, these, offsets, watermarks[1]), these
            except Exception as exc:  # noqa: BLE001 - any failure: MySQL's health decides below
                self._unless_mysql_is_away(exc)
                log.error("batch_write_refused", batch_id=batch_id, attempt=action, error=_describe(exc),
                          rejects=len(rejects))
        return self._quarantine(batch, batch_id, offsets, watermarks[0]), []

    def _quarantine(self, batch: Any, batch_id: int, offsets: dict, watermark_ms: int) -> Any:
        """Every message of the batch recorded as "quarantined" by position, length and
        SHA-256, no window written, the watermark kept; loudly."""
        quarantined = self._positions(batch)
        BATCHES_SET_ASIDE.labels("quarantined").inc()
        metrics.REJECTED.labels(Reason.QUARANTINED).inc(len(quarantined))
        log.error("batch_quarantined", batch_id=batch_id, messages=len(quarantined),
                  detail="no window written; find them with: SELECT * FROM rejected_messages "
                         "WHERE reason = 'quarantined'")
        for topic, partitions in _next_offsets(quarantined).items():
            offsets.setdefault(topic, {}).update(partitions)
        return self.sink.quarantine_batch(batch_id, quarantined, offsets, watermark_ms)

    def _unless_mysql_is_away(self, exc: BaseException) -> None:
        """Re-raise `exc` when MySQL does not answer: an outage fails the query, supervisord
        restarts the processor and the batch is replayed from the checkpoint, as before."""
        if not self.sink.healthy():
            raise exc

    def _write_whole(self, batch_id: int, aggregates: list[dict], rejects: list[dict], offsets: dict,
                     watermark_ms: int) -> Any:
        windows = [window_from_row(a) for a in aggregates]
        return self.sink.write_batch(batch_id, windows, rejects, offsets, watermark_ms,
                                     [keys_from_row(a) for a in aggregates])

    @staticmethod
    def _positions(batch: Any) -> list[dict]:
        """Every message of the batch as a "quarantined" reject: position, length, SHA-256."""
        rows = classify.positions(batch).collect()
        return [{**row.asDict(), "reason": Reason.QUARANTINED} for row in rows]

    def _compute_twice(self, batch: Any, rules: classify.Rules, offsets: dict,
                       timings: dict[str, float]) -> tuple[list[dict], list[dict]]:
        """_compute, tried again once if Spark fails (a broker hiccup); a second failure while
        MySQL answers makes the batch _Unprocessable (a message Spark cannot handle)."""
        for attempt in (1, 2):
            try:
                return self._compute(batch, rules, offsets, timings)
            except Exception as exc:  # noqa: BLE001 - Spark's errors come as many classes
                if self.stopping.is_set():
                    raise
                log.error("batch_compute_failed", attempt=attempt, error=_describe(exc))
                if attempt == 2:
                    self._unless_mysql_is_away(exc)
                    raise _Unprocessable() from exc
        raise AssertionError("unreachable")

    def _compute(self, batch: Any, rules: classify.Rules, offsets: dict,
                 timings: dict[str, float]) -> tuple[list[dict], list[dict]]:
        """Spark work of one batch: window aggregates, rejected rows; advances `offsets` once
        all of it has succeeded (so a failed attempt leaves them as they were).
        `timings` gets the milliseconds of each step (the batch log line shows them)."""
        clock = _Stopwatch(timings)
        classified = classify.classify(batch, rules)
        summary = self._summarise(classified, rules)
        clock.lap("aggregate_ms")
        repeated = self.sink.counted_before([keys_from_row(a) for a in summary.aggregates])
        clock.lap("dedup_lookup_ms")
        if repeated or any(a["distinct_keys"] != a["sample_count"] for a in summary.aggregates):
            # rare: a price delivered twice; the batch is read again with the copies marked
            summary = self._summarise(classify.mark_duplicates(classified, _keys_frame(batch, repeated)), rules)
            clock.lap("dedup_again_ms")
        for topic, partitions in summary.next_offsets.items():
            offsets.setdefault(topic, {}).update(partitions)
        return summary.aggregates, summary.rejects

    @staticmethod
    def _summarise(classified: Any, rules: classify.Rules) -> partials.Summary:
        return partials.combine([row.asDict() for row in classify.summarise(classified, rules).collect()])


def _keys_frame(batch: Any, keys: set[tuple[str, str]]) -> Any:
    """(symbol, key) rows built in the JVM from one JSON literal, so no Python worker is
    needed on the executors of a cluster."""
    from pyspark.sql import functions as F
    text = json.dumps([{"symbol": symbol, "key": key} for symbol, key in sorted(keys)])
    rows = F.from_json(F.lit(text), "array<struct<symbol:string,key:string>>")
    return batch.sparkSession.range(1).select(F.explode(rows).alias("k")).select("k.symbol", "k.key")


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


def _describe(exc: BaseException) -> str:
    """Error class and MySQL errno only (messages can echo statements or credentials)."""
    return f"{type(exc).__name__}({getattr(exc, 'errno', None)})"


def batch_limit(config: Config) -> int:
    """Messages per micro-batch: the configured maxOffsetsPerTrigger, capped so that a batch
    of rejects fits its share of the driver's memory (DRIVER_BYTES_PER_MESSAGE each)."""
    budget = memory_bytes(config.processor.driver_memory) // DRIVER_MEMORY_SHARE  # validated at load
    cap = max(1000, budget // DRIVER_BYTES_PER_MESSAGE)
    configured = config.processor.max_offsets_per_trigger
    return min(configured, cap) if configured else cap


def _count_reasons(rejects: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for reject in rejects:
        counts[reject["reason"]] = counts.get(reject["reason"], 0) + 1
    return counts


def make_listener(stats: dict[int, dict[str, Any]], stopping: threading.Event) -> Any:
    """A StreamingQueryListener writing one JSON line per micro-batch."""
    from pyspark.sql.streaming import StreamingQueryListener

    class ProgressLogger(StreamingQueryListener):
        def onQueryStarted(self, event: Any) -> None:  # noqa: N802 - Spark's names
            log.info("query_started", query_id=str(event.id), run_id=str(event.runId), name=event.name)

        def onQueryProgress(self, event: Any) -> None:  # noqa: N802
            progress = event.progress
            source = progress.sources[0].metrics if progress.sources else {}
            behind = _int(source.get("maxOffsetsBehindLatest"))
            _record_progress(progress, behind)
            log.info("batch", batch_id=progress.batchId, input_rows=progress.numInputRows,
                     input_rows_per_s=round(progress.inputRowsPerSecond, 1),
                     processed_rows_per_s=round(progress.processedRowsPerSecond, 1),
                     duration_ms=progress.durationMs.get("triggerExecution"),
                     add_batch_ms=progress.durationMs.get("addBatch"),
                     offsets_behind_latest=behind,
                     **stats.pop(progress.batchId, {}))

        def onQueryIdle(self, event: Any) -> None:  # noqa: N802
            return

        def onQueryTerminated(self, event: Any) -> None:  # noqa: N802
            if event.exception and stopping.is_set():
                log.info("query_stopped", query_id=str(event.id), detail="next batch left for replay")
            elif event.exception:
                log.error("query_failed", query_id=str(event.id), error=event.exception[:2000])
            else:
                log.info("query_stopped", query_id=str(event.id))

    return ProgressLogger()


def _record_progress(progress: Any, behind: int | None) -> None:
    metrics.BATCHES.inc()
    metrics.INPUT_ROWS.inc(progress.numInputRows)
    metrics.BATCH_DURATION.observe((progress.durationMs.get("triggerExecution") or 0) / 1000)
    if behind is not None:
        metrics.OFFSETS_BEHIND.set(behind)


def _int(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def start_query(spark: Any, config: Config, handler: BatchHandler) -> Any:
    settings = config.processor
    reader = (spark.readStream.format("kafka")
              .option("kafka.bootstrap.servers", config.kafka.bootstrap_servers)
              .option("subscribe", config.kafka.topic)
              .option("startingOffsets", "earliest")
              .option("failOnDataLoss", str(settings.fail_on_data_loss).lower()))
    reader = reader.option("maxOffsetsPerTrigger", str(batch_limit(config)))
    return (reader.load().writeStream.queryName(settings.query_name)
            .foreachBatch(handler)
            .option("checkpointLocation", str(config.checkpoint_dir))
            .trigger(processingTime=f"{int(settings.trigger_interval * 1000)} milliseconds")
            .start())


def check_checkpoint(config: Config) -> None:
    """Fail at start, with the path and the reason, if the checkpoint cannot be written
    (rather than deep inside Spark): a full disk, a read-only mount, a file in the way."""
    probe = config.checkpoint_dir / ".writable"
    try:
        config.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise CheckpointUnwritable(f"checkpoint {config.checkpoint_dir} is not writable: "
                                   f"{exc.strerror or exc}") from None


def run(config: Config) -> int:
    check_checkpoint(config)
    metrics.serve(config.metrics.processor_port)
    spark = build_session(config)
    sink = MySQLSink(config)
    handler = BatchHandler(config, sink)
    spark.streams.addListener(make_listener(handler.stats, handler.stopping))
    query = start_query(spark, config, handler)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    log.info("started", spark_master=config.processor.spark_master, topic=config.kafka.topic,
             window_s=config.processor.window, watermark_s=config.processor.watermark,
             checkpoint=str(config.checkpoint_dir))
    failure = wait_for_end(query, stopping)
    if stopping.is_set():
        log.info("stopping", reason="signal")
        _quietly(lambda: handler.stop_between_batches(query))
    sink.close()
    _quietly(spark.stop)
    if failure is not None:
        log.error("query_terminated", error=str(failure)[:2000])
        return 1
    return 0


def wait_for_end(query: Any, stopping: threading.Event) -> Any:
    """Block until the query ends or a signal arrives; returns the query's failure, if any."""
    from py4j.protocol import Py4JError
    try:
        while query.isActive and not stopping.is_set():
            query.awaitTermination(1)
        return None if stopping.is_set() else query.exception()
    except Py4JError:
        if stopping.is_set():  # the JVM was signalled too (e.g. kill of the group) and is gone
            return None
        raise


def _quietly(stop: Any) -> None:
    """Stop a Spark object whose JVM may already be going (a signal to the whole group)."""
    try:
        stop()
    except Exception as exc:  # noqa: BLE001 - py4j errors once the JVM is gone
        log.info("jvm_already_stopped", detail=type(exc).__name__)


def main() -> int:
    configure("processor")
    try:
        config = config_module.load()
        return run(config)
    except (ConfigError, MissingJars, CheckpointUnwritable) as exc:
        log.error("cannot_start", error=str(exc))
        return 2


if __name__ == "__main__":
    sys.exit(main())
