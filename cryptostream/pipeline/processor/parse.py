"""Kafka rows -> the parsed message, and whether its value was JSON and a JSON object: the
first step of classify.py, by the same rules as schema.problem() (see classify.py's tests).
The columns are built once (see classify.py)."""
from __future__ import annotations

from functools import cache

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from cryptostream.pipeline.processor.jvm_columns import named, select
from cryptostream.pipeline.schema import END, MAX_MESSAGE_BYTES, TEXT_FIELDS, spark_schema

CORRUPT = "_corrupt_record"

# The text fields read again as doubles: a field that reads as a number held a JSON number,
# which the rules refuse (a price is a decimal string; Spark would give a number's text
# through a double, which no other reader reproduces).
NUMBERS = "struct<" + ",".join(f"{name}:double" for name in TEXT_FIELDS) + ">"
# Reading a text field as a double fails, through an exception, for every valid message: that
# read cost twice the message's own (docs/PERFORMANCE.md). So it is done only where a text field
# could hold a JSON number: a text field's name followed by a colon and anything but a string,
# or any \u escape (the only escape that can spell a letter of a name). test_parity.py spells
# the names every way.
NUMBER_IN_TEXT_FIELD = r"\"(" + "|".join(TEXT_FIELDS) + r")\"[\x00-\x20]*:[\x00-\x20]*[^\"\x00-\x20]"
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
    return select(select(kafka_rows, _parsed()), _shape_checked())


@cache
def _parsed() -> tuple[Column, ...]:
    schema = spark_schema().add(CORRUPT, "string")
    text = F.when(F.length("value") <= MAX_MESSAGE_BYTES, F.col("value").cast("string"))
    return named("topic", "partition", "offset", "key", "value",
                 (F.unix_micros(F.col("timestamp")) / 1000).cast("long").alias("record_ms"),
                 F.from_json(text, schema, OPTIONS).alias("m"),
                 F.when(text.contains("\\u") | text.rlike(NUMBER_IN_TEXT_FIELD),
                        F.from_json(text, NUMBERS, OPTIONS)).alias("numeric"),
                 text.alias("_text"))


@cache
def _shape_checked() -> tuple[Column, ...]:
    suspicious = F.col("m").isNull() | F.col("m")[CORRUPT].isNotNull()
    # read again with no fields: a JSON object by the same parser and options as `m`
    # (json_object_keys would also take single quotes and raw control characters)
    shape = F.from_json("_text", f"struct<{CORRUPT}:string>", OPTIONS)
    is_object = shape.isNotNull() & shape[CORRUPT].isNull()
    return named("topic", "partition", "offset", "key", "value", "record_ms", "m", "numeric",
                 F.when(suspicious, is_object | _not_object_is_json(F.col("_text"))).otherwise(True).alias("is_json"),
                 F.when(suspicious, is_object).otherwise(True).alias("is_object"))


def _not_object_is_json(text: Column) -> Column:
    """For a value that is not a JSON object: is its first value JSON? (schema.json_reader.read_first_value)"""
    first = F.regexp_extract(text, f"(?s)^{_WS}*(.)", 1)
    return (F.when(first.rlike("^[-0-9]"), text.rlike(ROOT_NUMBER))
            .when(first.isin("t", "f", "n"), text.rlike(ROOT_LITERAL))
            .otherwise(F.try_parse_json(text).isNotNull()))
