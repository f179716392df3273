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
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable

SCHEMA_VERSION = 2  # the newest; every version up to it is read
FIELDS = ("schema_version", "symbol", "price", "event_time", "ingest_time", "source")  # required
TRADE_FIELDS = ("trade_id", "quantity")  # optional, since version 2
# DECIMAL(PRICE_PRECISION, PRICE_SCALE) in Spark and MySQL; Binance quotes 8 decimals.
PRICE_PRECISION = 28
PRICE_SCALE = 8
# Patterns end with END rather than $: "$" also matches before a final line break, and Java
# (Spark's rlike) counts \r, \u0085, \u2028 and \u2029 as line breaks too; END means the same
# to Python's re and to Java: no character follows.
END = r"(?![\s\S])"
PRICE_PATTERN = r"^[0-9]{1,20}(\.[0-9]{1,8})?" + END
SYMBOL_PATTERN = r"^[A-Z0-9]{2,20}" + END
SOURCE_PATTERN = r"^[a-z0-9._-]{1,32}" + END  # part of the dedup key, so kept short and plain
QUANTITY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,8})?" + END
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
    """Why a raw Kafka value may not be aggregated, or None. Never raises, whatever the bytes.
    The processor applies the same rules as Spark expressions (processor/classify.py); a
    property-based test (tests/test_parity.py) holds the two in step."""
    if not value:
        return Reason.EMPTY
    if len(value) > MAX_MESSAGE_BYTES:
        return Reason.TOO_LARGE
    try:
        first = _read_first_value(value.decode("utf-8", errors="replace"))
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
    first = _read_first_value(value.decode("utf-8", errors="replace"))
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
_FIELD_KINDS = {"schema_version": 32, "symbol": str, "price": str, "event_time": 64,
                "ingest_time": 64, "source": str, "trade_id": 64, "quantity": str}
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
        want = _FIELD_KINDS.get(name)
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


# --- reading the first JSON value, as Spark's parsers (Jackson) read it -----------------------
# Iterative, so deep nesting cannot exhaust the stack. Limits are Jackson's defaults, which
# Spark keeps: deeper nesting or longer numbers are not JSON to it.
MAX_DEPTH = 1000
MAX_NUMBER_DIGITS = 1000  # digits of one number (integer, fraction and exponent), inside a container
_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"')
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE][+-]?([0-9]+))?")
_LITERALS = {"true": True, "false": False, "null": None}
ROOT_END = " \t\n\r"  # a number or literal at the root must be followed by one of these, or nothing


@dataclass
class _FirstValue:
    kind: str  # object, array, string, number or literal
    pairs: list[tuple[str, str, Any]] = field(default_factory=list)  # the root object's fields, in order
    # no repeated name in any object and no lone surrogate in any string: what Spark's Variant
    # parser (try_parse_json, which tells "not JSON" from "not an object") also accepts
    plain: bool = True


def _read_first_value(text: str) -> _FirstValue:
    """The first JSON value of `text` (what follows it is ignored); ValueError if there is none."""
    at = _WS.match(text).end()
    if at == len(text):
        raise ValueError("no JSON value")
    if text[at] == "{" and text.count("{") + text.count("[") < FAST_BRACKETS:
        return _read_object_fast(text, at)
    if text[at] in "{[":
        return _read_container(text, at)
    if text[at] == '"':
        return _FirstValue("string", plain=not _lone_surrogate(_string_at(text, at)[0]))
    return _read_root_scalar(text, at)


# Below this many brackets in all, nesting cannot reach Python's recursion limit, so an object
# is read by the json module's C scanner (about 5 times faster), with the same limits applied.
FAST_BRACKETS = 400


class _Float(str):
    """A JSON number with a fraction or exponent, as written."""


def _read_object_fast(text: str, at: int) -> _FirstValue:
    decoder = json.JSONDecoder(object_pairs_hook=list, parse_int=_int_token, parse_float=_float_token,
                               parse_constant=_no_constant)
    root, _ = decoder.raw_decode(text, at)
    return _FirstValue("object", [(name, *_kind_of(value)) for name, value in root])


def _int_token(token: str) -> int:
    if len(token.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise ValueError("number too long")
    return int(token)


def _float_token(token: str) -> _Float:
    if sum(char.isdigit() for char in token) > MAX_NUMBER_DIGITS:
        raise ValueError("number too long")
    return _Float(token)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _kind_of(value: Any) -> tuple[str, Any]:
    """(kind, value) of a value the C scanner read, in _read_container's terms."""
    if value is None:
        return "null", None
    if isinstance(value, bool):
        return "bool", value
    if isinstance(value, int):
        return "int", value
    if isinstance(value, _Float):
        return "float", str(value)
    return ("string", value) if isinstance(value, str) else ("nested", None)


def _read_root_scalar(text: str, at: int) -> _FirstValue:
    """A number or literal at the root, followed by whitespace or the end of the text."""
    number = _NUMBER.match(text, at)
    if number:
        end, kind = number.end(), "number"
    else:
        word = next((w for w in _LITERALS if text.startswith(w, at)), None)
        if word is None:
            raise ValueError("not a JSON value")
        end, kind = at + len(word), "literal"
    if end < len(text) and text[end] not in ROOT_END:
        raise ValueError("no space after a root-level value")
    return _FirstValue(kind)


def _read_container(text: str, at: int) -> _FirstValue:
    """The object or array starting at `at`, read with an explicit stack."""
    first = _FirstValue("object" if text[at] == "{" else "array")
    stack: list[set[str] | None] = []  # per open container: names seen (objects) or None (arrays)
    state, name = "value", ""
    while True:
        at = _WS.match(text, at).end()
        if at == len(text):
            raise ValueError("unexpected end of JSON")
        char = text[at]
        if state in ("value", "value_or_close") and char in "{[":
            if len(stack) == MAX_DEPTH:
                raise ValueError("nested too deeply")
            if len(stack) == 1 and first.kind == "object":
                first.pairs.append((name, "nested", None))
            stack.append(set() if char == "{" else None)
            state, at = ("name_or_close" if char == "{" else "value_or_close"), at + 1
        elif (state == "value_or_close" and char == "]") or (state == "name_or_close" and char == "}") \
                or (state == "after" and char == ("}" if isinstance(stack[-1], set) else "]")):
            stack.pop()
            at += 1
            if not stack:
                return first
            state = "after"
        elif state in ("value", "value_or_close"):
            kind, value, at = _scalar_at(text, at)
            first.plain = first.plain and not (kind == "string" and _lone_surrogate(value))
            if len(stack) == 1 and first.kind == "object":
                first.pairs.append((name, kind, value))
            state = "after"
        elif state in ("name", "name_or_close") and char == '"':
            name, at = _string_at(text, at)
            first.plain = first.plain and not _lone_surrogate(name) and name not in stack[-1]
            stack[-1].add(name)
            state = "colon"
        elif state == "colon" and char == ":":
            state, at = "value", at + 1
        elif state == "after" and char == ",":
            state, at = ("name" if isinstance(stack[-1], set) else "value"), at + 1
        else:
            raise ValueError(f"unexpected {char!r}")


def _scalar_at(text: str, at: int) -> tuple[str, Any, int]:
    """(kind, value, end) of the string, number or literal at `at` inside a container."""
    if text[at] == '"':
        value, end = _string_at(text, at)
        return "string", value, end
    number = _NUMBER.match(text, at)
    if number:
        digits = sum(len(part or "") for part in number.groups())
        if digits > MAX_NUMBER_DIGITS:
            raise ValueError("number too long")
        is_int = number.group(2) is None and number.group(3) is None
        return ("int", int(number.group()), number.end()) if is_int else ("float", number.group(), number.end())
    for word, value in _LITERALS.items():
        if text.startswith(word, at):
            return ("null" if value is None else "bool"), value, at + len(word)
    raise ValueError("not a JSON value")


def _string_at(text: str, at: int) -> tuple[str, int]:
    """The decoded JSON string at `at` and where it ends."""
    match = _STRING.match(text, at)
    if not match:
        raise ValueError("bad JSON string")
    return json.loads(match.group()), match.end()


def _lone_surrogate(text: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in text)


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
