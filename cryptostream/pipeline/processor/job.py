"""The processor: a Spark Structured Streaming query from Kafka to MySQL.

Each micro-batch is classified and aggregated per (symbol, event-time window) in Spark, then
merged into MySQL by the sink in one transaction. The event-time watermark is kept with the
rows (stream_progress) rather than in Spark's state store: Spark drops late rows silently,
while here a row for a window already closed by the watermark is stored in
rejected_messages with reason "late", and a replayed batch sees the same watermark it saw
the first time.
"""
from __future__ import annotations

import sys

import structlog

from cryptostream.core import config as config_module
from cryptostream.core import events, metrics
from cryptostream.core.config import Config, ConfigError
from cryptostream.core.logs import configure
from cryptostream.pipeline.processor import class_archive
from cryptostream.pipeline.processor.batch import BatchHandler
from cryptostream.pipeline.processor.classpath import MissingJars
from cryptostream.pipeline.processor.progress import make_listener
from cryptostream.pipeline.processor.query import CheckpointUnwritable, check_checkpoint, start_query
from cryptostream.pipeline.processor.session import build_session
from cryptostream.pipeline.processor.shutdown import on_signals, quietly, wait_for_end
from cryptostream.pipeline.processor.sink import MySQLSink

log = structlog.get_logger("processor")


def run(config: Config) -> int:
    check_checkpoint(config)
    metrics.serve(config.metrics.processor_port, metrics.PROCESSOR_REGISTRY, "metrics.processor_port")
    archive = class_archive.current(config)  # mapped by the driver JVM when there is one: a faster start
    spark = build_session(config, class_archive.options_for(archive))
    sink = MySQLSink(config)
    handler = BatchHandler(config, sink)
    handler.minute_stats.flush(sink)  # the run's start, in pipeline_stats even if no batch follows
    spark.streams.addListener(make_listener(handler.stats, handler.stopping, handler.minute_stats))
    query = start_query(spark, config, handler)
    stopping = on_signals()
    log.info(events.STARTED, spark_master=config.processor.spark_master, topic=config.kafka.topic,
             window_s=config.processor.window, watermark_s=config.processor.watermark,
             checkpoint=str(config.checkpoint_dir), class_archive=archive and str(archive))
    failure = wait_for_end(query, stopping)
    if stopping.is_set():
        log.info(events.STOPPING, reason="signal")
        quietly(lambda: handler.stop_between_batches(query))
    handler.minute_stats.flush(sink)  # the timings of the last batches
    sink.close()
    quietly(spark.stop)
    if failure is not None:
        log.error(events.QUERY_TERMINATED, error=str(failure)[:2000])
        return 1
    return 0


def main() -> int:
    configure("processor")
    try:
        config = config_module.load()
        return run(config)
    except (ConfigError, MissingJars, CheckpointUnwritable, metrics.PortInUse) as exc:
        log.error(events.CANNOT_START, error=str(exc))
        return 2


if __name__ == "__main__":
    sys.exit(main())
