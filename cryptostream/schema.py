"""The one message schema on topic crypto_prices, shared by producer, processor and checks.

A message is UTF-8 JSON, key = symbol:
    {"schema_version": 1, "symbol": "BTCUSDT", "price": "97123.45000000",
     "event_time": 1764200000123, "ingest_time": 1764200000150, "source": "binance-rest"}
price is a decimal string (exact, never a float); times are UTC epoch milliseconds.
Version 2 adds two optional fields for trades, written only by sources that have them:
    "trade_id": 4211573311 (the exchange's id, unique per symbol), "quantity": "0.00150000"
A version 1 message is a version 2 message without them, so both are read.

Dedup key: a price is identified by (symbol, source, trade_id) when it has a trade id, else
by (symbol, source, event_time): what one source observed for one symbol at one millisecond.
However many times it is delivered (a producer retry, a re-published message, a copy written
by hand, a trade both streamed and backfilled) it is counted once: the processor counts the
first delivery it applies and stores later ones in rejected_messages with reason "duplicate".
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable

SCHEMA_VERSION = 2  # the newest; every version up to it is read
FIELDS = ("schema_version", "symbol", "price", "event_time", "ingest_time", "source")  # required
TRADE_FIELDS = ("trade_id", "quantity")  # optional, since version 2
# DECIMAL(PRICE_PRECISION, PRICE_SCALE) in Spark and MySQL; Binance quotes 8 decimals.
PRICE_PRECISION = 28
PRICE_SCALE = 8
PRICE_PATTERN = r"^[0-9]{1,20}(\.[0-9]{1,8})?$"
SYMBOL_PATTERN = r"^[A-Z0-9]{2,20}$"
SOURCE_PATTERN = r"^[a-z0-9._-]{1,32}$"  # part of the dedup key, so kept short and plain
QUANTITY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,8})?$"
# A trade's price stays below MAX_TRADE_PRICE and price x quantity below MAX_NOTIONAL, so
# products and their sums over a window stay exact in DECIMAL(38,16) (Spark fails a query
# on decimal overflow, and would round a wider product).
MAX_TRADE_PRICE = 10**9
MAX_NOTIONAL = 10**15


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
    BAD_SOURCE = "bad_source"
    BAD_PRICE = "bad_price"
    NON_POSITIVE_PRICE = "non_positive_price"
    BAD_TRADE_ID = "bad_trade_id"
    BAD_QUANTITY = "bad_quantity"
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
    trade_id: int | None = None
    quantity: str | None = None

    @property
    def schema_version(self) -> int:
        """1 unless a trade field is set: readers of version 1 keep reading price samples."""
        return 2 if self.trade_id is not None or self.quantity is not None else 1

    def to_json(self) -> bytes:
        body = {name: getattr(self, name) for name in (*FIELDS, *TRADE_FIELDS)}
        return json.dumps({k: v for k, v in body.items() if v is not None}, separators=(",", ":")).encode()


def dedup_key(body: dict[str, Any]) -> tuple[str, str, str]:
    """(symbol, source, "t<trade id>" or "<event time>"): the observation a valid message carries."""
    trade_id = body.get("trade_id")
    return body["symbol"], body["source"], f"t{trade_id}" if trade_id is not None else str(body["event_time"])


def quantity_problem(quantity: str, price: str) -> str | None:
    """Why `quantity` is not a valid trade quantity at `price`, or None."""
    if not re.match(QUANTITY_PATTERN, quantity):
        return Reason.BAD_QUANTITY
    value, at = Decimal(quantity), Decimal(price)
    return None if 0 < value and at < MAX_TRADE_PRICE and value * at < MAX_NOTIONAL else Reason.BAD_QUANTITY


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


def source_problem(source: str) -> str | None:
    return None if re.match(SOURCE_PATTERN, source) else Reason.BAD_SOURCE


def problem(value: bytes | None, allowed: Iterable[str], max_future_ms: int,
            record_time_ms: int) -> str | None:
    """Why a raw Kafka value may not be aggregated, or None. The processor applies the same
    rules as Spark expressions (processor/classify.py); a test holds the two in step."""
    if not value:
        return Reason.EMPTY
    try:
        data = _first_json_value(value.decode("utf-8", errors="replace"))
    except ValueError:
        return Reason.NOT_JSON
    if not isinstance(data, dict):
        return Reason.WRONG_SHAPE
    if not all(_fits(data.get(name), kind) for name, kind in _FIELD_KINDS.items()):
        return Reason.WRONG_TYPE
    if any(data.get(name) is None for name in FIELDS):
        return Reason.MISSING_FIELD
    if not 1 <= data["schema_version"] <= SCHEMA_VERSION:
        return Reason.UNKNOWN_SCHEMA_VERSION
    reason = symbol_problem(_text(data["symbol"]), allowed) or source_problem(_text(data["source"])) \
        or price_problem(_text(data["price"]))
    if reason:
        return reason
    if data.get("trade_id") is not None and data["trade_id"] < 0:
        return Reason.BAD_TRADE_ID
    if data.get("quantity") is not None and quantity_problem(_text(data["quantity"]), _text(data["price"])):
        return Reason.BAD_QUANTITY
    if data["event_time"] > record_time_ms + max_future_ms:
        return Reason.FUTURE_EVENT_TIME
    return None


# Value kinds as Spark's from_json reads them: integers must fit their type; a "string"
# field takes any JSON value as its text.
_FIELD_KINDS = {"schema_version": 32, "symbol": str, "price": str, "event_time": 64,
                "ingest_time": 64, "source": str, "trade_id": 64, "quantity": str}


def _first_json_value(text: str) -> Any:
    """The first JSON value of `text`; what follows it is ignored, as Spark's JSON parsers do.
    NaN and Infinity are not JSON (Python's json module would accept them)."""
    decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constant)
    return decoder.raw_decode(text.lstrip(" \t\n\r"))[0]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


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
        T.StructField("trade_id", T.LongType()),
        T.StructField("quantity", T.StringType()),
    ])
