"""The one message schema on topic crypto_prices, shared by producer, processor and checks:
the message and its field list (message.py), its validation rules (rules.py, json_reader.py)
and the Spark schema derived from the same field list (spark.py)."""
from cryptostream.pipeline.schema.message import (FIELDS, MESSAGE_FIELDS, SCHEMA_VERSION, TEXT_FIELDS, TRADE_FIELDS,
                                                  Field, PriceMessage, dedup_key)
from cryptostream.pipeline.schema.rules import (END, FIELD_KINDS, MAX_MESSAGE_BYTES, MAX_NOTIONAL, MAX_TRADE_PRICE,
                                                PRICE_PATTERN, PRICE_PRECISION, PRICE_SCALE, QUANTITY_PATTERN,
                                                QUANTITY_PRECISION, QUANTITY_SCALE, SOURCE_PATTERN, SYMBOL_PATTERN,
                                                TIME_LIMIT_MS, Reason, fields, price_problem, problem,
                                                quantity_problem, source_problem, symbol_problem)
from cryptostream.pipeline.schema.spark import SPARK_TYPES, spark_schema

__all__ = ["END", "FIELD_KINDS", "FIELDS", "MAX_MESSAGE_BYTES", "MAX_NOTIONAL", "MAX_TRADE_PRICE", "MESSAGE_FIELDS", "PRICE_PATTERN",
           "PRICE_PRECISION", "PRICE_SCALE", "QUANTITY_PATTERN", "QUANTITY_PRECISION", "QUANTITY_SCALE", "SCHEMA_VERSION", "SOURCE_PATTERN", "SPARK_TYPES",
           "SYMBOL_PATTERN", "TEXT_FIELDS", "TIME_LIMIT_MS", "TRADE_FIELDS", "Field", "PriceMessage", "Reason",
           "dedup_key", "fields", "price_problem", "problem", "quantity_problem", "source_problem", "spark_schema",
           "symbol_problem"]
