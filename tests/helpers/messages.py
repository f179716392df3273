"""Price messages as they travel on the topic, good and poison, for the schema rules (Python)
and the processor's Spark rules alike."""
from __future__ import annotations

import json

from cryptostream.pipeline.schema import Reason

SYMBOLS = ("BTCUSDT", "ETHUSDT")
NOW = 1_764_200_000_000


def message(**changes) -> bytes:
    body = {"schema_version": 1, "symbol": "BTCUSDT", "price": "97123.45000000",
            "event_time": NOW, "ingest_time": NOW + 5, "source": "binance-rest"}
    body.update(changes)
    return json.dumps({k: v for k, v in body.items() if v is not ...}).encode()


POISON = [
    (b"", Reason.EMPTY),
    (b"not json", Reason.NOT_JSON),
    (b"\xff\xfe\x00garbage", Reason.NOT_JSON),
    (b"[1, 2]", Reason.WRONG_SHAPE),
    (b'"BTCUSDT"', Reason.WRONG_SHAPE),
    (b"null", Reason.WRONG_SHAPE),
    (b"123", Reason.WRONG_SHAPE),
    (b"{}", Reason.MISSING_FIELD),
    (b"{'symbol': 'BTCUSDT'}", Reason.NOT_JSON),
    (message(event_time=...).replace(b"}", b', "event_time": NaN}'), Reason.NOT_JSON),
    (message(event_time="soon"), Reason.WRONG_TYPE),
    (message(event_time=1.5), Reason.WRONG_TYPE),
    (message(schema_version=2**40), Reason.WRONG_TYPE),
    (message(event_time=True), Reason.WRONG_TYPE),
    (message(price=...), Reason.MISSING_FIELD),
    (message(source=None), Reason.MISSING_FIELD),
    (message(schema_version=3), Reason.UNKNOWN_SCHEMA_VERSION),
    (message(schema_version=0), Reason.UNKNOWN_SCHEMA_VERSION),
    (message(schema_version=2, trade_id=-1, quantity="1"), Reason.BAD_TRADE_ID),
    (message(schema_version=2, trade_id="x", quantity="1"), Reason.WRONG_TYPE),
    (message(schema_version=2, trade_id=1, quantity="0"), Reason.BAD_QUANTITY),
    (message(schema_version=2, trade_id=1, quantity="1e5"), Reason.BAD_QUANTITY),
    (message(schema_version=2, trade_id=1, quantity="9" * 13), Reason.BAD_QUANTITY),
    (message(schema_version=2, trade_id=1, quantity="99999999999"), Reason.BAD_QUANTITY),  # notional >= 10^15
    (message(schema_version=2, trade_id=1, quantity="1", price="1000000000"), Reason.BAD_QUANTITY),
    (message(symbol="BTC'; DROP TABLE moving_averages; --"), Reason.BAD_SYMBOL),
    (message(symbol="A" * 3_000), Reason.BAD_SYMBOL),
    (message(symbol="A" * 10_000), Reason.TOO_LARGE),
    (message(symbol="XRPUSDT"), Reason.UNKNOWN_SYMBOL),
    (message(source="Binance REST"), Reason.BAD_SOURCE),
    (message(source="s" * 33), Reason.BAD_SOURCE),
    (message(source="a,b"), Reason.BAD_SOURCE),
    (message(price="NaN"), Reason.BAD_PRICE),
    (message(price="Infinity"), Reason.BAD_PRICE),
    (message(price="-5"), Reason.BAD_PRICE),
    (message(price="1" * 30), Reason.BAD_PRICE),
    (message(price="1.123456789"), Reason.BAD_PRICE),
    (message(price="0.00000000"), Reason.NON_POSITIVE_PRICE),
    (message(event_time=NOW + 3_600_000), Reason.FUTURE_EVENT_TIME),
]
