"""The validation rules of a price message, in the processor's order: why a raw Kafka value
may not be aggregated (Python; processor/classify.py applies them as Spark expressions)."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable

from cryptostream.core import config
from cryptostream.pipeline.schema.json_reader import read_first_value
from cryptostream.pipeline.schema.message import FIELDS, MESSAGE_FIELDS, SCHEMA_VERSION

# DECIMAL(PRICE_PRECISION, PRICE_SCALE) in Spark and MySQL; Binance quotes 8 decimals.
PRICE_PRECISION = 28
PRICE_SCALE = 8
# Patterns end with END rather than $: "$" also matches before a final line break, and Java
# (Spark's rlike) counts \r, \u0085, \u2028 and \u2029 as line breaks too; END means the same
# to Python's re and to Java: no character follows.
END = r"(?![\s\S])"
PRICE_PATTERN = r"^[0-9]{1,20}(\.[0-9]{1,8})?" + END
# the configuration's symbol rule, ending with END instead of its \Z (to Java, \Z still allows a final line break)
SYMBOL_PATTERN = config.SYMBOL_PATTERN.pattern.removesuffix(r"\Z") + END
SOURCE_PATTERN = r"^[a-z0-9._-]{1,32}" + END  # part of the dedup key, so kept short and plain
QUANTITY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,8})?" + END
QUANTITY_PRECISION = 20  # DECIMAL(20,8): what QUANTITY_PATTERN allows
QUANTITY_SCALE = 8
# A trade's price stays below MAX_TRADE_PRICE and price x quantity below MAX_NOTIONAL, so
# products and their sums over a window stay exact in DECIMAL(38,16) (Spark fails a query
# on decimal overflow, and would round a wider product).
MAX_TRADE_PRICE = 10**9
MAX_NOTIONAL = 10**15
# A price message is about 250 bytes; a longer value than this is rejected (too_large) before
# it is parsed, which bounds what one message costs either reader. Why 4000: Spark's JSON
# parser (Jackson) reads 4000 characters at a time and applies its limit on long numbers
# differently to a number that crosses a refill; a message that fits one read is judged the
# same way wherever its numbers fall.
MAX_MESSAGE_BYTES = 4000
# event_time and ingest_time must lie in [0, TIME_LIMIT_MS) (1970 to 3000): such times, and
# their windows, fit Python's datetime, Spark's long arithmetic and MySQL's DATETIME.
TIME_LIMIT_MS = 32_503_680_000_000


class Reason:
    """Why a message was rejected; stored with it in rejected_messages."""
    EMPTY = "empty_value"
    TOO_LARGE = "too_large"
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
    BAD_TIME = "bad_time"
    FUTURE_EVENT_TIME = "future_event_time"
    LATE = "late"
    DUPLICATE = "duplicate"
    # not a rule: every message of a batch MySQL would not take at all, stored by position only
    QUARANTINED = "quarantined"


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
    """Why a raw Kafka value may not be aggregated, or None. Never raises, whatever the bytes.
    The processor applies the same rules as Spark expressions (processor/classify.py); a
    property-based test (tests/integration/test_parity.py) holds the two in step."""
    if not value:
        return Reason.EMPTY
    if len(value) > MAX_MESSAGE_BYTES:
        return Reason.TOO_LARGE
    try:
        first = read_first_value(value.decode("utf-8", errors="replace"))
    except ValueError:
        return Reason.NOT_JSON
    if first.kind != "object":
        return Reason.WRONG_SHAPE if first.plain else Reason.NOT_JSON
    data, wrong_type = _fields(first.pairs)
    if wrong_type:
        return Reason.WRONG_TYPE
    if any(data.get(name) is None for name in FIELDS):
        return Reason.MISSING_FIELD
    return _content_problem(data, allowed, max_future_ms, record_time_ms)


def fields(value: bytes) -> dict[str, Any]:
    """The schema fields of a message as the rules read them (text for the text fields, integers
    for the others); ValueError when it is not a JSON object. For valid messages: problem() is None."""
    first = read_first_value(value.decode("utf-8", errors="replace"))
    if first.kind != "object":
        raise ValueError("not a JSON object")
    return _fields(first.pairs)[0]


def _content_problem(data: dict[str, Any], allowed: Iterable[str], max_future_ms: int,
                     record_time_ms: int) -> str | None:
    """The rules on the values of a well-formed message, in the processor's order."""
    if not 1 <= data["schema_version"] <= SCHEMA_VERSION:
        return Reason.UNKNOWN_SCHEMA_VERSION
    reason = symbol_problem(data["symbol"], allowed) or source_problem(data["source"]) \
        or price_problem(data["price"])
    if reason:
        return reason
    if data.get("trade_id") is not None and data["trade_id"] < 0:
        return Reason.BAD_TRADE_ID
    if data.get("quantity") is not None and quantity_problem(data["quantity"], data["price"]):
        return Reason.BAD_QUANTITY
    if not all(0 <= data[name] < TIME_LIMIT_MS for name in ("event_time", "ingest_time")):
        return Reason.BAD_TIME
    if data["event_time"] > record_time_ms + max_future_ms:
        return Reason.FUTURE_EVENT_TIME
    return None


# Value kinds as Spark's from_json reads them: integers must fit their type; a text field
# takes a JSON string, true/false as text, and any array or object as text that no rule accepts.
_INT_BITS = {"IntegerType": 32, "LongType": 64}
FIELD_KINDS = {f.name: str if f.python is str else _INT_BITS[f.spark] for f in MESSAGE_FIELDS}
_CONTAINER_TEXT = "[...]"  # matches no pattern, like the JSON text Spark gives an array or object


def _fields(pairs: list[tuple[str, str, Any]]) -> tuple[dict[str, Any], bool]:
    """(schema fields, wrong type?) from the root object's (name, kind, value) pairs in order.

    A repeated name counts as Spark counts it: the last occurrence gives the value, any
    integer occurrence that does not fit makes the record corrupt, and a text field is "a
    number" when its last occurrence that was a number or null was a number (the processor
    reads the text fields again as doubles to see numbers, which must be strings)."""
    data: dict[str, Any] = {}
    numeric: dict[str, bool] = {}
    wrong = False
    for name, kind, value in pairs:
        want = FIELD_KINDS.get(name)
        if want is str:
            data[name] = _text(kind, value)
            if kind in ("int", "float", "null"):
                numeric[name] = kind != "null"
        elif want is not None:
            fits = kind == "null" or (kind == "int" and -2**(want - 1) <= value < 2**(want - 1))
            wrong = wrong or not fits
            data[name] = value if kind == "int" else None
    return data, wrong or any(numeric.values())


def _text(kind: str, value: Any) -> str | None:
    if kind == "string":
        return value
    if kind == "bool":
        return "true" if value else "false"
    if kind == "null":
        return None
    return _CONTAINER_TEXT if kind == "nested" else str(value)
