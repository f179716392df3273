"""Where the processor's time goes, step by step, without Kafka or MySQL: the same Spark
expressions (processor/classify.py) and the processor's Java pass (processor/jvm_pass.py)
over N synthetic messages held in memory, each step timed on its own (best of three), on a
Spark session configured like the processor's."""
from __future__ import annotations

import time
from typing import Any, Callable

from cryptostream.core.config import Config
from cryptostream.pipeline.processor import classify, jvm_pass, partials
from cryptostream.pipeline.schema import spark_schema


def synthetic_batch(spark: Any, rows: int, symbols: tuple[str, ...]) -> Any:
    """Kafka-shaped rows (3 partitions) of valid messages, cached in memory."""
    from pyspark.sql import functions as F
    row_id = F.col("id")
    body = F.struct(F.lit(1).alias("schema_version"),
                    F.element_at(F.array(*[F.lit(s) for s in symbols]), (row_id % len(symbols) + 1).cast("int"))
                    .alias("symbol"),
                    F.format_number(F.lit(100) + row_id % 1000 / 100, 8).alias("price"),
                    (F.lit(1_795_000_000_000) + row_id / len(symbols)).cast("long").alias("event_time"),
                    F.lit(1_795_000_000_000).alias("ingest_time"), F.lit("bench").alias("source"))
    frame = spark.range(rows).select(
        F.lit("bench").alias("topic"), (row_id % 3).cast("int").alias("partition"), row_id.alias("offset"),
        F.lit(b"k").alias("key"), F.to_json(body).cast("binary").alias("value"),
        F.current_timestamp().alias("timestamp")).repartition(3).cache()
    frame.count()
    return frame


def profile(config: Config, rows: int) -> dict[str, Any]:
    from pyspark.sql import functions as F
    from cryptostream.pipeline.processor.session import build_session
    spark = build_session(config)
    try:
        frame = synthetic_batch(spark, rows, config.exchange.symbols)
        rules = classify.Rules(config.exchange.symbols, int(config.processor.window * 1000),
                               int(config.processor.max_future_skew * 1000), -(2**62))
        text = F.col("value").cast("string")
        steps: dict[str, Callable[[], Any]] = {
            "read rows (cached, no Kafka)": frame.count,
            "from_json only": lambda: frame.select(F.from_json(text, spark_schema()).alias("m"))
            .where(F.col("m.symbol").isNotNull()).count(),
            "parse + validate (classify)": lambda: classify.classify(frame, rules)
            .where(F.col("reason").isNull()).count(),
            "whole batch, Spark SQL: summarise + combine": lambda: partials.combine(
                [r.asDict() for r in classify.summarise(classify.classify(frame, rules), rules).collect()]),
            "whole batch, the Java pass: summarise + combine": lambda: partials.combine(
                [r.asDict() for r in jvm_pass.summarise(frame, rules).collect()]),
        }
        return {name: _rate(step, rows) for name, step in steps.items()}
    finally:
        spark.stop()


def _rate(step: Callable[[], Any], rows: int) -> dict[str, float]:
    best = float("inf")
    for _ in range(3):
        started = time.monotonic()
        step()
        best = min(best, time.monotonic() - started)
    return {"seconds": round(best, 2), "rows_per_s": round(rows / best)}
