"""A batch's summary in one pass of the processor's own Java over each Kafka partition
(jvm/cryptostream/batch, in the processor's jar): each message read, checked by the rules and
aggregated in plain Java, with no Spark expression and no shuffle. Same rows as
classify.summarise (the reference: test_parity.py holds the two, and schema.problem(), to the
same answers), at a fraction of its cost per message (docs/PERFORMANCE.md, "One pass in Java").

Every rule's constant, pattern and reason name goes to the JVM from here, as JSON: the rules
keep one source. Duplicates are not marked here: a batch whose keys may repeat is read again by
classify.mark_duplicates (batch.py), which is rare."""
from __future__ import annotations

import json
from functools import cache
from typing import Any

from pyspark.sql import DataFrame

from cryptostream.pipeline.processor.classify import KEY_PREFIX, VALUE_PREFIX, Rules
from cryptostream.pipeline.processor.latency import FINE_MS, TICK_MS
from cryptostream.pipeline.schema import (FIELD_KINDS, MAX_MESSAGE_BYTES, MAX_NOTIONAL, MAX_TRADE_PRICE,
                                          MESSAGE_FIELDS, PRICE_PATTERN, PRICE_SCALE, QUANTITY_PATTERN, QUANTITY_SCALE,
                                          SCHEMA_VERSION, SOURCE_PATTERN, SYMBOL_PATTERN, TIME_LIMIT_MS, Reason)
from cryptostream.pipeline.schema.json_reader import MAX_DEPTH, MAX_NUMBER_DIGITS


def summarise(kafka_rows: DataFrame, rules: Rules) -> DataFrame:
    """classify.summarise(classify.classify(kafka_rows, rules), rules), late rule included."""
    return _frame(kafka_rows, _summaries(kafka_rows).summarise(kafka_rows._jdf, rules_json(rules)))


def reasons(kafka_rows: DataFrame, rules: Rules) -> DataFrame:
    """(partition, offset, reason) of every message: the rules' verdict on each (null: valid)."""
    return _frame(kafka_rows, _summaries(kafka_rows).reasons(kafka_rows._jdf, rules_json(rules)))


def rules_json(rules: Rules) -> str:
    return json.dumps({**_constants(), "symbols": list(rules.symbols), "window_ms": rules.window_ms,
                       "max_future_ms": rules.max_future_ms, "watermark_ms": rules.watermark_ms,
                       "now_ms": rules.now_ms})


@cache
def _constants() -> dict[str, Any]:
    fields = [[f.name, 0 if FIELD_KINDS[f.name] is str else FIELD_KINDS[f.name], f.required_from is not None]
              for f in MESSAGE_FIELDS]
    return {"reasons": {name: value for name, value in vars(Reason).items() if name.isupper()},
            "symbol_pattern": SYMBOL_PATTERN, "source_pattern": SOURCE_PATTERN, "price_pattern": PRICE_PATTERN,
            "quantity_pattern": QUANTITY_PATTERN, "max_message_bytes": MAX_MESSAGE_BYTES, "max_depth": MAX_DEPTH,
            "max_number_digits": MAX_NUMBER_DIGITS, "schema_version": SCHEMA_VERSION, "fields": fields,
            "time_limit_ms": TIME_LIMIT_MS, "max_trade_price": str(MAX_TRADE_PRICE),
            "max_notional": str(MAX_NOTIONAL), "price_scale": PRICE_SCALE, "quantity_scale": QUANTITY_SCALE,
            "tick_ms": TICK_MS, "fine_ms": FINE_MS, "value_prefix": VALUE_PREFIX, "key_prefix": KEY_PREFIX}


def _frame(kafka_rows: DataFrame, jdf: Any) -> DataFrame:
    return type(kafka_rows)(jdf, kafka_rows.sparkSession)


def _summaries(kafka_rows: DataFrame) -> Any:
    return _entry(kafka_rows.sparkSession._jvm)


@cache
def _entry(jvm: Any) -> Any:
    """The Java class, looked up once (each name on the way is a call into the JVM)."""
    return jvm.cryptostream.batch.Summaries
