"""The one message schema on topic crypto_prices, shared by producer, processor and checks.

A message is UTF-8 JSON, key = symbol:
    {"schema_version": 1, "symbol": "BTCUSDT", "price": "97123.45000000",
     "event_time": 1764200000123, "ingest_time": 1764200000150, "source": "binance-rest"}
price is a decimal string (exact, never a float); times are UTC epoch milliseconds.

Dedup key: a price sample is identified by (symbol, event_time): the exchange's price of one
symbol at one millisecond is one observation, however many times it is delivered (a producer
retry, a re-published message, a copy written by hand). The processor counts the first delivery
it applies and stores later ones in rejected_messages with reason "duplicate".
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable

SCHEMA_VERSION = 1
FIELDS = ("schema_version", "symbol", "price", "event_time", "ingest_time", "source")
# DECIMAL(PRICE_PRECISION, PRICE_SCALE) in Spark and MySQL; Binance quotes 8 decimals.
PRICE_PRECISION = 28
PRICE_SCALE = 8
PRICE_PATTERN = r"^[0-9]{1,20}(\.[0-9]{1,8})?$"
SYMBOL_PATTERN = r"^[A-Z0-9]{2,20}$"


class Reason:
    """Why a message was rejected; stored with it in rejected_messages."""
    EMPTY = "empty_value"
    NOT_JSON = "not_json"
    WRONG_SHAPE = "wrong_shape"
    WRONG_TYPE = "wrong_type"
    MISSING_FIELD = "missing_field"
    UNKNOWN_SCHEMA_VERSION = "unknown_schema_version"
    BAD_SYMBOL = "bad_symbol"
    UNKNOWN_SYMBOL = "unknown_symbol"
    BAD_PRICE = "bad_price"
    NON_POSITIVE_PRICE = "non_positive_price"
    FUTURE_EVENT_TIME = "future_event_time"
    LATE = "late"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class PriceMessage:
    symbol: str
    price: str
    event_time: int
    ingest_time: int
    source: str
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> bytes:
        return json.dumps({name: getattr(self, name) for name in FIELDS},
                          separators=(",", ":")).encode()


# The kind of dedup key a message carries (counted_keys.kind): "e" = event time in ms.
EVENT_TIME_KEY = "e"


def dedup_key(body: dict[str, Any]) -> tuple[str, str, int]:
    """(symbol, key kind, key) identifying the observation a valid message carries."""
    return body["symbol"], EVENT_TIME_KEY, body["event_time"]


def price_problem(price: Any) -> str | None:
    """Why `price` is not a valid quote (a positive decimal string), or None."""
    if not isinstance(price, str) or not re.match(PRICE_PATTERN, price):
        return Reason.BAD_PRICE
    try:
        value = Decimal(price)
    except InvalidOperation:
        return Reason.BAD_PRICE
    return None if value > 0 else Reason.NON_POSITIVE_PRICE


def symbol_problem(symbol: Any, allowed: Iterable[str]) -> str | None:
    """Why `symbol` may not be published or aggregated, or None."""
    if not isinstance(symbol, str) or not re.match(SYMBOL_PATTERN, symbol):
        return Reason.BAD_SYMBOL
    return None if symbol in set(allowed) else Reason.UNKNOWN_SYMBOL


def problem(value: bytes | None, allowed: Iterable[str], max_future_ms: int,
            record_time_ms: int) -> str | None:
    """Why a raw Kafka value may not be aggregated, or None. The processor applies the same
    rules as Spark expressions (processor/classify.py); a test holds the two in step."""
    if not value:
        return Reason.EMPTY
    try:
        data = json.loads(value.decode("utf-8", errors="replace"), parse_float=Decimal)
    except ValueError:
        return Reason.NOT_JSON
    if not isinstance(data, dict):
        return Reason.WRONG_SHAPE
    if not all(_fits(data.get(name), kind) for name, kind in _FIELD_KINDS.items()):
        return Reason.WRONG_TYPE
    if any(data.get(name) is None for name in FIELDS):
        return Reason.MISSING_FIELD
    if data["schema_version"] != SCHEMA_VERSION:
        return Reason.UNKNOWN_SCHEMA_VERSION
    reason = symbol_problem(_text(data["symbol"]), allowed) or price_problem(_text(data["price"]))
    if reason:
        return reason
    if data["event_time"] > record_time_ms + max_future_ms:
        return Reason.FUTURE_EVENT_TIME
    return None


# Value kinds as Spark's from_json reads them: integers must fit their type; a "string"
# field takes any JSON value as its text.
_FIELD_KINDS = {"schema_version": 32, "symbol": str, "price": str, "event_time": 64,
                "ingest_time": 64, "source": str}


def _fits(value: Any, kind: Any) -> bool:
    if value is None or kind is str:
        return True
    return isinstance(value, int) and not isinstance(value, bool) and -2**(kind - 1) <= value < 2**(kind - 1)


def _text(value: Any) -> str:
    """A JSON value as Spark's from_json gives it to a string field: numbers as written."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, (int, Decimal)) else json.dumps(value)


def spark_schema():  # -> pyspark.sql.types.StructType; pyspark imported lazily for the producer
    """The Spark schema for from_json; field types as read, validation happens after."""
    from pyspark.sql import types as T
    return T.StructType([
        T.StructField("schema_version", T.IntegerType()),
        T.StructField("symbol", T.StringType()),
        T.StructField("price", T.StringType()),
        T.StructField("event_time", T.LongType()),
        T.StructField("ingest_time", T.LongType()),
        T.StructField("source", T.StringType()),
    ])
