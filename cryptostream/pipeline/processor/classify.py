"""Spark expressions for one micro-batch: parse, validate, mark late, aggregate per window.

Everything runs in the JVM (no Python UDFs). The rules mirror schema.problem();
tests/integration/test_classify.py runs both over the same poison messages and
tests/integration/test_parity.py over thousands of generated ones.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from functools import reduce
from operator import or_

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from cryptostream.pipeline.processor.latency import FINE_MS, TICK_MS
from cryptostream.pipeline.schema import (END, FIELDS, MAX_MESSAGE_BYTES, MAX_NOTIONAL, PRICE_PATTERN,
                                          PRICE_PRECISION, PRICE_SCALE, QUANTITY_PATTERN, SCHEMA_VERSION,
                                          SOURCE_PATTERN, SYMBOL_PATTERN, TEXT_FIELDS, TIME_LIMIT_MS, Reason,
                                          spark_schema)

CORRUPT = "_corrupt_record"


NO_WATERMARK = -(2**62)  # before any event time: no window is closed


@dataclass(frozen=True)
class Rules:
    symbols: tuple[str, ...]
    window_ms: int
    max_future_ms: int
    watermark_ms: int  # windows ending at or before this are final: their rows are late
    now_ms: int = 0  # the batch's start (driver clock): counted messages' ages are taken at it (latency.py)

    def without_watermark(self) -> Rules:
        """The same rules with no window closed: no row is late."""
        return replace(self, watermark_ms=NO_WATERMARK)

    def closed(self, window_start_ms: int) -> bool:
        """Is the window starting then final (a row of it is late)? The same test as reason()'s."""
        return window_start_ms + self.window_ms <= self.watermark_ms


# The text fields read again as doubles: a field that reads as a number held a JSON number,
# which the rules refuse (a price is a decimal string; Spark would give a number's text
# through a double, which no other reader reproduces).
NUMBERS = "struct<" + ",".join(f"{name}:double" for name in TEXT_FIELDS) + ">"
OPTIONS = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT, "allowSingleQuotes": "false",
           "allowNonNumericNumbers": "false"}
_WS = r"[ \t\n\r]"
# A number or literal at the root is JSON (then "wrong_shape") only followed by whitespace or
# the end; decided by pattern rather than by Spark's Variant parser, whose limits on long root
# numbers differ from its limits elsewhere. Same rule as schema._read_root_scalar.
ROOT_NUMBER = rf"^{_WS}*-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?({_WS}|{END})"
ROOT_LITERAL = f"^{_WS}*(true|false|null)({_WS}|{END})"


def parse(kafka_rows: DataFrame) -> DataFrame:
    """Kafka rows -> Kafka coordinates, raw bytes, the parsed message struct `m` and `numeric`
    (which text fields held a JSON number).

    A value longer than MAX_MESSAGE_BYTES is not parsed at all (it is rejected as too_large).
    A value from_json read without complaint is a JSON object; only the others are examined
    again to tell "not JSON" from "not an object". Like every Spark JSON parser, it reads the
    first JSON value and ignores text after it."""
    schema = spark_schema().add(CORRUPT, "string")
    text = F.when(F.length("value") <= MAX_MESSAGE_BYTES, F.col("value").cast("string"))
    parsed = kafka_rows.select(
        "topic", "partition", "offset", "key", "value",
        (F.unix_micros(F.col("timestamp")) / 1000).cast("long").alias("record_ms"),
        F.from_json(text, schema, OPTIONS).alias("m"), F.from_json(text, NUMBERS, OPTIONS).alias("numeric"),
        text.alias("_text"))
    suspicious = F.col("m").isNull() | F.col("m")[CORRUPT].isNotNull()
    # read again with no fields: a JSON object by the same parser and options as `m`
    # (json_object_keys would also take single quotes and raw control characters)
    shape = F.from_json("_text", f"struct<{CORRUPT}:string>", OPTIONS)
    is_object = shape.isNotNull() & shape[CORRUPT].isNull()
    return parsed.select(
        "topic", "partition", "offset", "key", "value", "record_ms", "m", "numeric",
        F.when(suspicious, is_object | _not_object_is_json(F.col("_text"))).otherwise(True).alias("is_json"),
        F.when(suspicious, is_object).otherwise(True).alias("is_object"))


def _not_object_is_json(text: Column) -> Column:
    """For a value that is not a JSON object: is its first value JSON? (schema.json_reader.read_first_value)"""
    first = F.regexp_extract(text, f"(?s)^{_WS}*(.)", 1)
    return (F.when(first.rlike("^[-0-9]"), text.rlike(ROOT_NUMBER))
            .when(first.isin("t", "f", "n"), text.rlike(ROOT_LITERAL))
            .otherwise(F.try_parse_json(text).isNotNull()))


def reason(rules: Rules) -> Column:
    """The first rule a row breaks (schema.Reason), or null for a valid, timely price."""
    m = F.col("m")
    price = _price(m["price"])
    quantity = _quantity(m["quantity"])
    window_end = F.try_add(_window_start(m["event_time"], rules.window_ms), F.lit(rules.window_ms))
    checks = [
        (F.col("value").isNull() | (F.length("value") == 0), Reason.EMPTY),
        (F.length("value") > MAX_MESSAGE_BYTES, Reason.TOO_LARGE),
        (~F.col("is_json"), Reason.NOT_JSON),
        (~F.col("is_object"), Reason.WRONG_SHAPE),
        (m[CORRUPT].isNotNull() | reduce(or_, [F.col("numeric")[name].isNotNull() for name in TEXT_FIELDS]),
         Reason.WRONG_TYPE),
        (reduce(or_, [m[name].isNull() for name in FIELDS]), Reason.MISSING_FIELD),
        ((m["schema_version"] < 1) | (m["schema_version"] > SCHEMA_VERSION), Reason.UNKNOWN_SCHEMA_VERSION),
        (~m["symbol"].rlike(SYMBOL_PATTERN), Reason.BAD_SYMBOL),
        (~m["symbol"].isin(*rules.symbols), Reason.UNKNOWN_SYMBOL),
        (~m["source"].rlike(SOURCE_PATTERN), Reason.BAD_SOURCE),
        (~m["price"].rlike(PRICE_PATTERN) | price.isNull(), Reason.BAD_PRICE),
        (price <= 0, Reason.NON_POSITIVE_PRICE),
        (m["trade_id"] < 0, Reason.BAD_TRADE_ID),
        (m["quantity"].isNotNull() & (~m["quantity"].rlike(QUANTITY_PATTERN) | quantity.isNull() | (quantity <= 0)
                                      | F.coalesce(_notional(m["price"], quantity) >= MAX_NOTIONAL, F.lit(True))),
         Reason.BAD_QUANTITY),
        (~_in_time_range(m["event_time"]) | ~_in_time_range(m["ingest_time"]), Reason.BAD_TIME),
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
    """schema.dedup_key less the symbol, as text: "<source>:t<trade_id>" or "<source>:<event_time>"."""
    trade = F.concat(F.lit("t"), F.col("m.trade_id").cast("string"))
    return F.concat_ws(":", F.col("m.source"), F.coalesce(trade, F.col("m.event_time").cast("string")))


def keys_in(kafka_rows: DataFrame, rules: Rules, windows: list[tuple[str, int]]) -> DataFrame:
    """(symbol, key) of the valid prices among `kafka_rows` in the (symbol, window start ms)
    windows: what an earlier batch counted there (earlier_keys.py). Those windows are open: no late rule."""
    classified = classify(kafka_rows, rules.without_watermark())
    window = F.concat_ws("|", F.col("m.symbol"), _window_start(F.col("m.event_time"), rules.window_ms))
    wanted = F.col("reason").isNull() & window.isin(*[f"{symbol}|{start}" for symbol, start in windows])
    return classified.where(wanted).select(F.col("m.symbol").alias("symbol"), dedup_key().alias("key"))


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


# What the driver gets of a rejected message, cut in the JVM so a message's size never
# reaches Python: the first VALUE_PREFIX bytes of its value (KEY_PREFIX of its key), the full
# length and SHA-256 of the value, its Kafka position and the reason.
VALUE_PREFIX = 1024
KEY_PREFIX = 256


def _reject() -> Column:
    return F.struct("topic", "partition", "offset", "record_ms",
                    F.substring("key", 1, KEY_PREFIX).alias("key"),
                    F.substring("value", 1, VALUE_PREFIX).alias("value"),
                    F.length("value").alias("value_length"), F.sha2("value", 256).alias("value_sha256"), "reason")


def positions(kafka_rows: DataFrame) -> DataFrame:
    """Every message's position, value length and SHA-256, no content: what the processor
    records for a batch it cannot store (batch.BatchHandler)."""
    return kafka_rows.select("topic", "partition", "offset",
                             (F.unix_micros(F.col("timestamp")) / 1000).cast("long").alias("record_ms"),
                             F.length("value").alias("value_length"), F.sha2("value", 256).alias("value_sha256"))


def summarise(classified: DataFrame, rules: Rules) -> DataFrame:
    """The whole batch in one pass (one Spark job, nothing cached): per (partition, symbol,
    window) partial aggregates of the valid rows, with how many distinct dedup keys they have
    and the ranges of those keys and of their offsets (counted_ranges.py: the keys themselves
    stay here); per partition the next offset to read and, in the group whose symbol and
    window are null, the rejected rows (bounded: see _reject).
    processor/partials.py combines the partitions.

    open/close are the prices first/last by (event_time, partition, offset), so ties are
    broken the same way on every replay."""
    valid = F.col("reason").isNull()
    m = F.col("m")
    quantity = _quantity(m["quantity"])
    rows = classified.select(
        "topic", "partition", "offset",
        F.when(valid, m["symbol"]).alias("symbol"),
        F.when(valid, _window_start(m["event_time"], rules.window_ms)).alias("window_start_ms"),
        F.when(valid, _price(m["price"])).alias("price"),
        F.when(valid, m["event_time"]).alias("event_ms"),
        F.when(valid, m["ingest_time"]).alias("ingest_ms"),
        F.when(valid, age_edge(age_at(rules.now_ms, m["ingest_time"]))).alias("ingest_age"),
        F.when(valid & m["trade_id"].isNotNull(), age_edge(age_at(rules.now_ms, m["event_time"])))
        .alias("trade_event_age"),
        F.when(valid, F.struct(m["event_time"], F.col("partition"), F.col("offset"))).alias("order"),
        F.when(valid, dedup_key()).alias("key"),
        F.when(valid & m["trade_id"].isNull(), m["event_time"]).alias("time_key_ms"),
        F.when(valid, m["trade_id"]).alias("trade_id"),
        F.when(valid, quantity).alias("quantity"),
        F.when(valid, _notional(m["price"], quantity)).alias("notional"),
        F.when(~valid, _reject()).alias("reject"),
    )
    groups = rows.groupBy("topic", "partition", "symbol", "window_start_ms").agg(
        F.sum("price").alias("price_sum"),
        F.count("price").alias("sample_count"),
        F.min("price").alias("min_price"),
        F.max("price").alias("max_price"),
        F.min_by("price", "order").alias("open_price"),
        F.max_by("price", "order").alias("close_price"),
        F.min("order").alias("open_order"),
        F.max("order").alias("close_order"),
        F.min("event_ms").alias("first_event_ms"),
        F.max("event_ms").alias("last_event_ms"),
        F.max("ingest_ms").alias("newest_ingest_ms"),
        F.sum("quantity").alias("volume"),  # null when no price of the window has a quantity
        F.sum("notional").alias("notional"),
        F.size(F.array_distinct(F.collect_list("key"))).alias("distinct_keys"),
        F.min("time_key_ms").alias("first_time_key_ms"),
        F.max("time_key_ms").alias("last_time_key_ms"),
        F.min("trade_id").alias("first_trade_id"),
        F.max("trade_id").alias("last_trade_id"),
        F.min("offset").alias("first_offset"),
        (F.max("offset") + 1).alias("next_offset"),
        F.collect_list("reject").alias("rejects"),
        F.array_sort(F.collect_list("ingest_age")).alias("_ingest_ages"),
        F.array_sort(F.collect_list("trade_event_age")).alias("_trade_event_ages"),
    )
    return groups.select("*", age_counts("_ingest_ages").alias("ingest_ages"),
                         age_counts("_trade_event_ages").alias("trade_event_ages")).drop("_ingest_ages",
                                                                                          "_trade_event_ages")


# Per-message latency (processor/latency.py) needs each counted message's ingest time (and a
# trade's event time); a group hands the driver how many messages are of each age bucket at
# the batch's start, not the times themselves.
def age_at(reference_ms: int, time_ms: Column) -> Column:
    """Milliseconds from a time to the reference. The reference changes with every batch; Spark
    writes a long literal into the generated Java source, so each batch would compile new code
    (~2 compilations, most of a small batch's CPU), while a decimal literal is passed to the
    same compiled code as a reference (tests/integration/test_classify.py counts compilations)."""
    return (F.lit(Decimal(reference_ms)) - time_ms).cast("long")


def age_edge(age_ms: Column) -> Column:
    """latency.bucket_edge in Spark, per row (generated code): the upper edge of an age's
    bucket, TICK_MS wide up to FINE_MS, then a tenth of its decade; 0 for an age below 0 (a
    producer clock ahead of ours)."""
    width = F.pow(F.lit(10), F.floor(F.log10(age_ms)) - 1)
    return (F.when(age_ms <= 0, F.lit(0))
            .when(age_ms <= FINE_MS, F.ceil(age_ms / TICK_MS) * TICK_MS)
            .otherwise((F.ceil(age_ms / width) * width).cast("long")))


def age_counts(ages: Column) -> Column:
    """A sorted array of age edges as [(age, n)]: its distinct values (at most ~1,000 + 90 per
    decade of age, whatever the batch size) with their counts, each count the distance between
    the first positions of two distinct values; the array functions run natively, the one
    lambda only over the distinct values."""
    distinct = F.array_distinct(ages)
    end = F.size(ages) + 1
    return F.transform(distinct, lambda age, k: F.struct(
        age.alias("age"),
        (F.coalesce(F.array_position(ages, F.try_element_at(distinct, k + 2)), end)
         - F.array_position(ages, age)).alias("n")))


def _price(text: Column) -> Column:
    return text.try_cast(f"decimal({PRICE_PRECISION},{PRICE_SCALE})")


def _quantity(text: Column) -> Column:
    return text.try_cast("decimal(20,8)")


def _notional(price_text: Column, quantity: Column) -> Column:
    """price x quantity, exact in DECIMAL(38,16): the operands are narrowed so that Spark need
    not round the product; null for a trade price of 10^9 or more (rejected as bad_quantity)."""
    return F.try_multiply(price_text.try_cast(f"decimal(17,{PRICE_SCALE})"), quantity)


def _window_start(event_ms: Column, window_ms: int) -> Column:
    """Null rather than an overflow for times no rule accepts (ANSI mode fails the whole
    query on an overflow, so one message could stop it)."""
    return F.try_subtract(event_ms, F.pmod(event_ms, F.lit(window_ms)))


def _in_time_range(ms: Column) -> Column:
    return (ms >= 0) & (ms < TIME_LIMIT_MS)
