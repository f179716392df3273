"""The processor's one log line and metrics per micro-batch, from Spark's query progress."""
from __future__ import annotations

import json
import math
import re
import threading
from typing import Any

import structlog

from cryptostream.core import events, metrics
from cryptostream.pipeline.processor.batch_stats import BatchStats

log = structlog.get_logger("processor")


def make_listener(stats: dict[int, dict[str, Any]], stopping: threading.Event,
                  minute_stats: BatchStats | None = None) -> Any:
    """A StreamingQueryListener writing one JSON line per micro-batch; its duration and lag also
    go into the run's per-minute statistics."""
    from pyspark.sql.streaming import StreamingQueryListener

    class ProgressLogger(StreamingQueryListener):
        def onQueryStarted(self, event: Any) -> None:  # noqa: N802 - Spark's names
            log.info(events.QUERY_STARTED, query_id=str(event.id), run_id=str(event.runId), name=event.name)

        def onQueryProgress(self, event: Any) -> None:  # noqa: N802
            progress = event.progress
            source = progress.sources[0].metrics if progress.sources else {}
            behind = _int(source.get("maxOffsetsBehindLatest"))
            _record_progress(progress, behind)
            if minute_stats is not None:
                minute_stats.progress(progress.durationMs.get("triggerExecution"), behind)
            log.info(events.BATCH, batch_id=progress.batchId, input_rows=progress.numInputRows,
                     input_rows_per_s=_rounded(progress.inputRowsPerSecond),
                     processed_rows_per_s=_rounded(progress.processedRowsPerSecond),
                     duration_ms=progress.durationMs.get("triggerExecution"),
                     **duration_parts(progress.durationMs),
                     offsets_behind_latest=behind,
                     **stats.pop(progress.batchId, {}))

        def onQueryIdle(self, event: Any) -> None:  # noqa: N802
            return

        def onQueryTerminated(self, event: Any) -> None:  # noqa: N802
            if event.exception and stopping.is_set():
                log.info(events.QUERY_STOPPED, query_id=str(event.id), detail="next batch left for replay")
            elif event.exception:
                log.error(events.QUERY_FAILED, query_id=str(event.id), error=event.exception[:2000])
            else:
                log.info(events.QUERY_STOPPED, query_id=str(event.id))

        @property
        def _jlistener(self) -> Any:  # the JVM's side of this listener: events as JSON (below)
            if not hasattr(self, "_json_bridge"):
                from pyspark import SparkContext
                self._json_bridge = SparkContext._jvm.PythonStreamingQueryListenerWrapper(JsonEvents(self))
            return self._json_bridge

    return ProgressLogger()


class JsonEvents:
    """What the JVM calls for each event of a Python listener. pyspark's own bridge reads a
    progress field by field: some forty calls back into the JVM per batch, each run by the
    listener bus thread (measured: 6-8 % of a core at one batch a second). The progress
    as one JSON string is one call."""

    def __init__(self, listener: Any) -> None:
        self.listener = listener

    def onQueryStarted(self, jevent: Any) -> None:  # noqa: N802 - the JVM interface's names
        from pyspark.sql.streaming.listener import QueryStartedEvent
        self.listener.onQueryStarted(QueryStartedEvent.fromJObject(jevent))

    def onQueryProgress(self, jevent: Any) -> None:  # noqa: N802
        from pyspark.sql.streaming.listener import QueryProgressEvent
        event = json.loads(jevent.json())
        for source in event["progress"].get("sources", []):  # pyspark's reader wants every rate;
            for rate in ("inputRowsPerSecond", "processedRowsPerSecond"):  # Spark writes no NaN
                source.setdefault(rate, math.nan)
        self.listener.onQueryProgress(QueryProgressEvent.fromJson(event))

    def onQueryIdle(self, jevent: Any) -> None:  # noqa: N802
        return

    def onQueryTerminated(self, jevent: Any) -> None:  # noqa: N802
        from pyspark.sql.streaming.listener import QueryTerminatedEvent
        self.listener.onQueryTerminated(QueryTerminatedEvent.fromJObject(jevent))

    class Java:
        implements = ["org.apache.spark.sql.streaming.PythonStreamingQueryListener"]


def _record_progress(progress: Any, behind: int | None) -> None:
    metrics.BATCHES.inc()
    metrics.LAST_BATCH.set_to_current_time()  # Spark reports progress once the batch is committed
    metrics.INPUT_ROWS.inc(progress.numInputRows)
    metrics.BATCH_DURATION.observe((progress.durationMs.get("triggerExecution") or 0) / 1000)
    if behind is not None:
        metrics.OFFSETS_BEHIND.set(behind)
    for partition, lag in partition_lag(progress).items():
        metrics.PARTITION_LAG.labels(str(partition)).set(lag)


def duration_parts(duration_ms: dict[str, int]) -> dict[str, int]:
    """Spark's per-phase milliseconds of a micro-batch (latestOffset, queryPlanning, addBatch,
    walCommit, commitOffsets...) as snake_case `<phase>_ms` fields; triggerExecution, their
    sum plus Spark's own bookkeeping, is `duration_ms`."""
    return {_snake(name) + "_ms": value for name, value in duration_ms.items() if name != "triggerExecution"}


def _rounded(rate: float | None) -> float | None:
    """A rate to one decimal; None where Spark has none (NaN: no earlier trigger to count from)."""
    return None if rate is None or not math.isfinite(rate) else round(rate, 1)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def partition_lag(progress: Any) -> dict[int, int]:
    """Messages behind the latest offset per partition: the source's latestOffset minus the
    endOffset this batch read up to (both JSON of topic -> partition -> offset)."""
    if not progress.sources:
        return {}
    source = progress.sources[0]
    latest, end = _offsets(source.latestOffset), _offsets(source.endOffset)
    return {partition: max(0, latest[partition] - end.get(partition, 0)) for partition in latest}


def _offsets(text: str | None) -> dict[int, int]:
    """{partition: offset}; empty when Spark gave none: a batch re-run from the offset log
    after a restart has no latest offset (JSON null)."""
    try:
        topics = json.loads(text or "{}")
    except ValueError:
        return {}
    if not isinstance(topics, dict):
        return {}
    return {int(p): int(o) for partitions in topics.values() for p, o in partitions.items()}


def _int(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None

