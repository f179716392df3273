"""The streaming query: the Kafka source with its per-batch message cap, foreachBatch into
the batch handler, and the checkpoint it needs writable."""
from __future__ import annotations

from typing import Any

from cryptostream.core.config import Config, memory_bytes
from cryptostream.pipeline.processor.batch import BatchHandler

# Driver memory a message of a micro-batch may cost at most: a reject reaches Python as its
# Kafka position, the first classify.VALUE_PREFIX bytes of its value and KEY_PREFIX of its
# key, with Python's object overhead; a valid one only within its window's aggregate. The
# Kafka source bounds a batch only by message count (Spark 4.2 has no maxBytesPerTrigger for
# Kafka), so the count is capped to fit a quarter of the driver's memory whatever the messages' size.
DRIVER_BYTES_PER_MESSAGE = 4096
DRIVER_MEMORY_SHARE = 4


class CheckpointUnwritable(RuntimeError):
    """The checkpoint folder cannot be written."""


def batch_limit(config: Config) -> int:
    """Messages per micro-batch: the configured maxOffsetsPerTrigger, capped so that a batch
    of rejects fits its share of the driver's memory (DRIVER_BYTES_PER_MESSAGE each)."""
    budget = memory_bytes(config.processor.driver_memory) // DRIVER_MEMORY_SHARE  # validated at load
    cap = max(1000, budget // DRIVER_BYTES_PER_MESSAGE)
    configured = config.processor.max_offsets_per_trigger
    return min(configured, cap) if configured else cap


def kafka_source(spark: Any, config: Config) -> Any:
    """The topic as a stream, read as the processor reads it (bin/bench's naive query reads it
    the same way)."""
    settings = config.processor
    reader = (spark.readStream.format("kafka")
              .option("kafka.bootstrap.servers", config.kafka.bootstrap_servers)
              .option("subscribe", config.kafka.topic)
              .option("startingOffsets", "earliest")
              .option("failOnDataLoss", str(settings.fail_on_data_loss).lower())
              .option("kafka.fetch.max.wait.ms", str(round(settings.fetch_max_wait * 1000))))
    reader = reader.option("maxOffsetsPerTrigger", str(batch_limit(config)))
    return reader.load()


def start_query(spark: Any, config: Config, handler: BatchHandler) -> Any:
    settings = config.processor
    return (kafka_source(spark, config).writeStream.queryName(settings.query_name)
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

