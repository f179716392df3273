"""The price message on topic crypto_prices and its one field list, from which the Python
rules, the Spark schema and the weekly schema check are derived.

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
from dataclasses import dataclass
from typing import Any

SCHEMA_VERSION = 2  # the newest; every version up to it is read


@dataclass(frozen=True)
class Field:
    """One message field: its JSON name, the Python type the rules read it as, the
    pyspark.sql.types class from_json reads it with, and the version that requires it
    (None: optional, written only by sources that have it, since version `since`)."""
    name: str
    python: type
    spark: str
    since: int
    required_from: int | None


MESSAGE_FIELDS = (
    Field("schema_version", int, "IntegerType", since=1, required_from=1),
    Field("symbol", str, "StringType", since=1, required_from=1),
    Field("price", str, "StringType", since=1, required_from=1),
    Field("event_time", int, "LongType", since=1, required_from=1),
    Field("ingest_time", int, "LongType", since=1, required_from=1),
    Field("source", str, "StringType", since=1, required_from=1),
    Field("trade_id", int, "LongType", since=2, required_from=None),
    Field("quantity", str, "StringType", since=2, required_from=None),
)
FIELDS = tuple(f.name for f in MESSAGE_FIELDS if f.required_from is not None)  # required
TRADE_FIELDS = tuple(f.name for f in MESSAGE_FIELDS if f.required_from is None)  # optional, since version 2
TEXT_FIELDS = tuple(f.name for f in MESSAGE_FIELDS if f.python is str)


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
        """The oldest version that has every field set: readers of version 1 keep reading
        price samples."""
        return max(f.since for f in MESSAGE_FIELDS if f.name != "schema_version" and getattr(self, f.name) is not None)

    def to_json(self) -> bytes:
        body = {f.name: getattr(self, f.name) for f in MESSAGE_FIELDS}
        return json.dumps({k: v for k, v in body.items() if v is not None}, separators=(",", ":")).encode()


def dedup_key(body: dict[str, Any]) -> tuple[str, str, str]:
    """(symbol, source, "t<trade id>" or "<event time>"): the observation a valid message carries."""
    trade_id = body.get("trade_id")
    return body["symbol"], body["source"], f"t{trade_id}" if trade_id is not None else str(body["event_time"])
