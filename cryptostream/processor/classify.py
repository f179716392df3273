"""Spark expressions for one micro-batch: parse, validate, mark late, aggregate per window.

Everything runs in the JVM (no Python UDFs). The rules mirror schema.problem(); a test runs
both over the same poison messages.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import or_

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from cryptostream.schema import (EVENT_TIME_KEY, FIELDS, PRICE_PATTERN, PRICE_PRECISION, PRICE_SCALE,
                                 SCHEMA_VERSION, SYMBOL_PATTERN, Reason, spark_schema)

CORRUPT = "_corrupt_record"


@dataclass(frozen=True)
class Rules:
    symbols: tuple[str, ...]
    window_ms: int
    max_future_ms: int
    watermark_ms: int  # windows ending at or before this are final: their rows are late


def parse(kafka_rows: DataFrame) -> DataFrame:
    """Kafka rows -> Kafka coordinates, raw bytes and the parsed message struct `m`."""
    schema = spark_schema().add(CORRUPT, "string")
    text = F.col("value").cast("string")
    return kafka_rows.select(
        "topic", "partition", "offset", "key", "value",
        (F.unix_micros(F.col("timestamp")) / 1000).cast("long").alias("record_ms"),
        F.from_json(text, schema, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}).alias("m"),
        F.get_json_object(text, "$").isNotNull().alias("is_json"),
        F.json_object_keys(text).isNotNull().alias("is_object"),
    )


def reason(rules: Rules) -> Column:
    """The first rule a row breaks (schema.Reason), or null for a valid, timely price."""
    m = F.col("m")
    price = _price(m["price"])
    window_end = _window_start(m["event_time"], rules.window_ms) + rules.window_ms
    checks = [
        (F.col("value").isNull() | (F.length("value") == 0), Reason.EMPTY),
        (~F.col("is_json"), Reason.NOT_JSON),
        (~F.col("is_object"), Reason.WRONG_SHAPE),
        (m[CORRUPT].isNotNull(), Reason.WRONG_TYPE),
        (reduce(or_, [m[name].isNull() for name in FIELDS]), Reason.MISSING_FIELD),
        (m["schema_version"] != SCHEMA_VERSION, Reason.UNKNOWN_SCHEMA_VERSION),
        (~m["symbol"].rlike(SYMBOL_PATTERN), Reason.BAD_SYMBOL),
        (~m["symbol"].isin(*rules.symbols), Reason.UNKNOWN_SYMBOL),
        (~m["price"].rlike(PRICE_PATTERN) | price.isNull(), Reason.BAD_PRICE),
        (price <= 0, Reason.NON_POSITIVE_PRICE),
        (m["event_time"] > F.col("record_ms") + rules.max_future_ms, Reason.FUTURE_EVENT_TIME),
        (window_end <= rules.watermark_ms, Reason.LATE),
    ]
    expression = F.when(*checks[0])
    for condition, name in checks[1:]:
        expression = expression.when(condition, name)
    return expression


def classify(kafka_rows: DataFrame, rules: Rules) -> DataFrame:
    return parse(kafka_rows).withColumn("reason", reason(rules))


def dedup_key() -> Column:
    """schema.dedup_key as a Spark column (its kind is EVENT_TIME_KEY)."""
    return F.col("m.event_time")


def mark_duplicates(classified: DataFrame, counted_before: DataFrame) -> DataFrame:
    """Valid rows repeating a dedup key become reason "duplicate": every row whose key an
    earlier batch counted (`counted_before`: symbol, key), and within the batch all but the
    first by (partition, offset)."""
    valid = F.col("reason").isNull()
    first_in_batch = Window.partitionBy(valid, F.col("m.symbol"), dedup_key()).orderBy("partition", "offset")
    seen = counted_before.select(F.col("symbol").alias("_seen_symbol"), F.col("key").alias("_seen_key"),
                                 F.lit(True).alias("_seen"))
    joined = classified.join(F.broadcast(seen), (F.col("m.symbol") == F.col("_seen_symbol"))
                             & (dedup_key() == F.col("_seen_key")), "left")
    repeated = valid & (F.col("_seen").isNotNull() | (F.row_number().over(first_in_batch) > 1))
    return (joined.withColumn("reason", F.when(repeated, F.lit(Reason.DUPLICATE)).otherwise(F.col("reason")))
            .drop("_seen_symbol", "_seen_key", "_seen"))


def aggregate(classified: DataFrame, rules: Rules) -> DataFrame:
    """Per (symbol, window) partial aggregates of the valid rows of this batch, with the
    dedup keys counted (ascending, comma-separated) and how many distinct keys there are.

    open/close are the prices first/last by (event_time, partition, offset), so ties are
    broken the same way on every replay."""
    valid = classified.where(F.col("reason").isNull()).select(
        F.col("m.symbol").alias("symbol"),
        _window_start(F.col("m.event_time"), rules.window_ms).alias("window_start_ms"),
        _price(F.col("m.price")).alias("price"),
        F.col("m.event_time").alias("event_ms"),
        F.col("m.ingest_time").alias("ingest_ms"),
        F.struct(F.col("m.event_time"), F.col("partition"), F.col("offset")).alias("order"),
        dedup_key().alias("key"),
    )
    keys = F.array_sort(F.collect_list("key"))
    return valid.groupBy("symbol", "window_start_ms").agg(
        F.sum("price").alias("price_sum"),
        F.count(F.lit(1)).alias("sample_count"),
        F.min("price").alias("min_price"),
        F.max("price").alias("max_price"),
        F.min_by("price", "order").alias("open_price"),
        F.max_by("price", "order").alias("close_price"),
        F.min("event_ms").alias("first_event_ms"),
        F.max("event_ms").alias("last_event_ms"),
        F.max("ingest_ms").alias("newest_ingest_ms"),
        F.lit(EVENT_TIME_KEY).alias("key_kind"),
        F.array_join(keys, ",").alias("keys"),
        F.size(F.array_distinct(keys)).alias("distinct_keys"),
        F.min("key").alias("first_key"),
        F.max("key").alias("last_key"),
    )


def rejected(classified: DataFrame) -> DataFrame:
    return classified.where(F.col("reason").isNotNull()).select(
        "topic", "partition", "offset", "record_ms", "key", "value", "reason")


def end_offsets(classified: DataFrame) -> DataFrame:
    """Per partition, the next offset to read after this batch."""
    return classified.groupBy("topic", "partition").agg((F.max("offset") + 1).alias("next_offset"))


def _price(text: Column) -> Column:
    return text.try_cast(f"decimal({PRICE_PRECISION},{PRICE_SCALE})")


def _window_start(event_ms: Column, window_ms: int) -> Column:
    return event_ms - F.pmod(event_ms, F.lit(window_ms))
