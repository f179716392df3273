"""Spark expressions for one micro-batch: validate (after parse.py), mark late, aggregate per window.

Everything runs in the JVM (no Python UDFs). The columns of a batch's plan are built once and
reused (the functions with a cache): each function call crosses to the JVM, and building them
for every batch took more than half of a small batch's time. The rules mirror schema.problem();
tests/integration/test_classify.py runs both over the same poison messages and
tests/integration/test_parity.py over thousands of generated ones.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cache, lru_cache, reduce
from operator import or_

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from cryptostream.pipeline.processor.age_columns import BATCH_START, age_at, age_counts, age_edge
from cryptostream.pipeline.processor.jvm_columns import aggregate, named, select
from cryptostream.pipeline.processor.parse import CORRUPT, parse
from cryptostream.pipeline.schema import (FIELDS, MAX_MESSAGE_BYTES, MAX_NOTIONAL, PRICE_PATTERN, PRICE_PRECISION,
                                          PRICE_SCALE, QUANTITY_PATTERN, QUANTITY_PRECISION, QUANTITY_SCALE,
                                          SCHEMA_VERSION, SOURCE_PATTERN, SYMBOL_PATTERN, TEXT_FIELDS, TIME_LIMIT_MS,
                                          Reason)

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


def reason(rules: Rules) -> Column:
    """The first rule a row breaks (schema.Reason), or null for a valid, timely price."""
    return _reason(replace(rules, now_ms=0))  # the batch's start plays no part


@lru_cache(maxsize=8)  # without the watermark (every batch) and a few recent watermarks (late rows)
def _reason(rules: Rules) -> Column:
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
    rows = select(classified.withColumn(BATCH_START, F.lit(Decimal(rules.now_ms))), _group_inputs(rules.window_ms))
    return select(aggregate(rows, _grouped_by(), _aggregates()), _summary())


GROUPED_BY = ("topic", "partition", "symbol", "window_start_ms")


@cache
def _grouped_by() -> tuple[Column, ...]:
    return named(*GROUPED_BY)


@lru_cache(maxsize=4)
def _group_inputs(window_ms: int) -> tuple[Column, ...]:
    valid = F.col("reason").isNull()
    m = F.col("m")
    quantity = _quantity(m["quantity"])
    return named(
        "topic", "partition", "offset",
        F.when(valid, m["symbol"]).alias("symbol"),
        F.when(valid, _window_start(m["event_time"], window_ms)).alias("window_start_ms"),
        F.when(valid, _price(m["price"])).alias("price"),
        F.when(valid, m["event_time"]).alias("event_ms"),
        F.when(valid, m["ingest_time"]).alias("ingest_ms"),
        F.when(valid, age_edge(age_at(m["ingest_time"]))).alias("ingest_age"),
        F.when(valid & m["trade_id"].isNotNull(), age_edge(age_at(m["event_time"]))).alias("trade_event_age"),
        F.when(valid, F.struct(m["event_time"], F.col("partition"), F.col("offset"))).alias("order"),
        F.when(valid, dedup_key()).alias("key"),
        F.when(valid & m["trade_id"].isNull(), m["event_time"]).alias("time_key_ms"),
        F.when(valid, m["trade_id"]).alias("trade_id"),
        F.when(valid, quantity).alias("quantity"),
        F.when(valid, _notional(m["price"], quantity)).alias("notional"),
        F.when(~valid, _reject()).alias("reject"),
    )


@cache
def _aggregated() -> dict[str, Column]:
    return {
        "price_sum": F.sum("price"),
        "sample_count": F.count("price"),
        "min_price": F.min("price"),
        "max_price": F.max("price"),
        "open_price": F.min_by("price", "order"),
        "close_price": F.max_by("price", "order"),
        "open_order": F.min("order"),
        "close_order": F.max("order"),
        "first_event_ms": F.min("event_ms"),
        "last_event_ms": F.max("event_ms"),
        "newest_ingest_ms": F.max("ingest_ms"),
        "volume": F.sum("quantity"),  # null when no price of the window has a quantity
        "notional": F.sum("notional"),
        "distinct_keys": F.size(F.array_distinct(F.collect_list("key"))),
        "first_time_key_ms": F.min("time_key_ms"),
        "last_time_key_ms": F.max("time_key_ms"),
        "first_trade_id": F.min("trade_id"),
        "last_trade_id": F.max("trade_id"),
        "first_offset": F.min("offset"),
        "next_offset": F.max("offset") + 1,
        "rejects": F.collect_list("reject"),
        # the ages, sorted for age_counts (processor/latency.py)
        "_ingest_ages": F.array_sort(F.collect_list("ingest_age")),
        "_trade_event_ages": F.array_sort(F.collect_list("trade_event_age")),
    }


@cache
def _aggregates() -> tuple[Column, ...]:
    return tuple(column.alias(name) for name, column in _aggregated().items())


@cache
def _summary() -> tuple[Column, ...]:
    """The groups' columns, with the age lists as [(age, n)]."""
    return named(*GROUPED_BY, *(name for name in _aggregated() if not name.startswith("_")),
                 age_counts(F.col("_ingest_ages")).alias("ingest_ages"),
                 age_counts(F.col("_trade_event_ages")).alias("trade_event_ages"))


def _price(text: Column) -> Column:
    return text.try_cast(f"decimal({PRICE_PRECISION},{PRICE_SCALE})")


def _quantity(text: Column) -> Column:
    return text.try_cast(f"decimal({QUANTITY_PRECISION},{QUANTITY_SCALE})")


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
