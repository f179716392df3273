"""The naive-query peer of the throughput benchmark: the Spark query a user would write first
for the same result (issue 16), run in a process of its own on the same topic:

    from_json -> withWatermark(watermark) -> groupBy(window(window), symbol).avg(price)
    -> update mode -> foreachBatch collecting the rows

with the processor's Spark session (master, shuffle partitions, memory) and Kafka source
(maxOffsetsPerTrigger, trigger interval). No exactly-once sink, de-duplication or
late/bad-message accounting: it is the floor the processor is compared with. It logs one
`batch` line per micro-batch like the processor, so bin/bench times both the same way, and
stops once it has read `--messages` (or after `--timeout` seconds).

    python -m cryptostream.bench.naive --messages N --checkpoint DIR [--timeout S]
"""
from __future__ import annotations

import argparse
import threading
from typing import Any

import structlog

from cryptostream.core import config as config_module
from cryptostream.core import events
from cryptostream.core.config import Config
from cryptostream.core.logs import configure
from cryptostream.ops import cli
from cryptostream.pipeline.processor.query import kafka_source
from cryptostream.pipeline.processor.session import build_session

log = structlog.get_logger("naive-query")


def averages(spark: Any, config: Config) -> Any:
    """The naive query's streaming DataFrame: average price per (window, symbol)."""
    from pyspark.sql import functions as F
    settings = config.processor
    fields = "symbol string, price string, event_time long"
    parsed = kafka_source(spark, config).select(F.from_json(F.col("value").cast("string"), fields).alias("m"))
    return (parsed.select("m.symbol", F.col("m.price").cast("double").alias("price"),
                          F.timestamp_millis("m.event_time").alias("event_ts"))
            .withWatermark("event_ts", f"{int(settings.watermark * 1000)} milliseconds")
            .groupBy(F.window("event_ts", f"{int(settings.window * 1000)} milliseconds"), "symbol")
            .agg(F.avg("price").alias("average_price")))


class _Progress:
    """Logs each micro-batch as the processor does; `done` is set once `messages` were read."""

    def __init__(self, messages: int) -> None:
        self.messages, self.read = messages, 0
        self.done = threading.Event()

    def listener(self) -> Any:
        from pyspark.sql.streaming import StreamingQueryListener
        progress = self

        class Logger(StreamingQueryListener):
            def onQueryStarted(self, event: Any) -> None:  # noqa: N802 - Spark's names
                return

            def onQueryProgress(self, event: Any) -> None:  # noqa: N802
                batch = event.progress
                progress.read += batch.numInputRows
                log.info(events.BATCH, batch_id=batch.batchId, input_rows=batch.numInputRows,
                         duration_ms=batch.durationMs.get("triggerExecution"),
                         add_batch_ms=batch.durationMs.get("addBatch"))
                if progress.read >= progress.messages:
                    progress.done.set()

            def onQueryIdle(self, event: Any) -> None:  # noqa: N802
                return

            def onQueryTerminated(self, event: Any) -> None:  # noqa: N802
                progress.done.set()

        return Logger()


def run(config: Config, messages: int, checkpoint: str, timeout: float) -> int:
    spark = build_session(config)
    progress = _Progress(messages)
    spark.streams.addListener(progress.listener())
    query = (averages(spark, config).writeStream.outputMode("update")
             .foreachBatch(lambda rows, _batch_id: rows.collect())
             .option("checkpointLocation", checkpoint)
             .trigger(processingTime=f"{int(config.processor.trigger_interval * 1000)} milliseconds")
             .start())
    try:
        finished = progress.done.wait(timeout)
        log.info(events.QUERY_STOPPED, read=progress.read, of=messages, finished=finished)
    finally:
        query.stop()
        spark.stop()
    return 0 if progress.read >= messages else 1


@cli.command()
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="naive-query", description="bin/bench's naive-query peer.")
    parser.add_argument("--messages", type=int, required=True, help="stop once this many were read")
    parser.add_argument("--checkpoint", required=True, help="a fresh folder of its own")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds, at most 3600")
    args = parser.parse_args(argv)
    if not (1 <= args.messages <= 50_000_000 and 0 < args.timeout <= 3600):
        parser.error("out of bounds: messages 1-50,000,000, timeout up to 3600 s")
    configure("naive-query")
    return run(config_module.load(), args.messages, args.checkpoint, args.timeout)


if __name__ == "__main__":
    raise SystemExit(main())
