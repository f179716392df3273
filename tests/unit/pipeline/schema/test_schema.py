"""The message schema: encoding and the validation rules every component shares."""
from __future__ import annotations

import dataclasses
import json
import typing

import pytest

from cryptostream.core import config
from cryptostream.pipeline.schema import (MESSAGE_FIELDS, SCHEMA_VERSION, SYMBOL_PATTERN, PriceMessage, Reason,
                                          dedup_key, price_problem, problem)
from tests.helpers.messages import NOW, POISON, SYMBOLS, message

def test_message_round_trips_as_compact_json() -> None:
    """PriceMessage encodes every schema field, price as an exact string; a price sample stays
    version 1 (readable by older processors), a trade is version 2 with its id and quantity."""
    encoded = PriceMessage("BTCUSDT", "97123.45000000", NOW, NOW + 1, "binance-rest").to_json()
    decoded = json.loads(encoded)
    assert decoded == {"schema_version": 1, "symbol": "BTCUSDT", "price": "97123.45000000",
                       "event_time": NOW, "ingest_time": NOW + 1, "source": "binance-rest"}
    assert problem(encoded, SYMBOLS, 300_000, NOW) is None
    trade = json.loads(PriceMessage("BTCUSDT", "97123.45", NOW, NOW + 1, "binance-ws", 42, "0.5").to_json())
    assert trade["schema_version"] == SCHEMA_VERSION == 2
    assert (trade["trade_id"], trade["quantity"]) == (42, "0.5")


def test_price_message_has_the_field_list() -> None:
    """PriceMessage declares exactly the fields of MESSAGE_FIELDS (schema_version derived), with their Python types."""
    hints = typing.get_type_hints(PriceMessage)
    declared = {f.name: hints[f.name] for f in dataclasses.fields(PriceMessage)}
    expected = {f.name: f.python if f.required_from else f.python | None for f in MESSAGE_FIELDS[1:]}
    assert MESSAGE_FIELDS[0].name == "schema_version"
    assert declared == expected
    assert max(f.since for f in MESSAGE_FIELDS) == SCHEMA_VERSION


def test_the_message_symbol_rule_is_the_configuration_s() -> None:
    """A message may carry exactly the symbols the configuration's rule accepts, but no final line break."""
    for symbol in ("BTCUSDT", "1INCHUSDT", "B", "btcusdt", "BTC-USDT", "X" * 21):
        assert bool(config.SYMBOL_PATTERN.match(symbol)) == (problem(message(symbol=symbol), [symbol], 0, NOW) is None)
    assert problem(message(symbol="BTCUSDT\n"), ["BTCUSDT\n"], 0, NOW) == Reason.BAD_SYMBOL
    assert SYMBOL_PATTERN == config.SYMBOL_PATTERN.pattern.removesuffix(r"\Z") + r"(?![\s\S])"


def test_dedup_key_is_the_trade_id_when_there_is_one() -> None:
    assert dedup_key({"symbol": "BTCUSDT", "source": "binance-rest", "event_time": NOW}) == ("BTCUSDT", "binance-rest", str(NOW))
    assert dedup_key({"symbol": "BTCUSDT", "source": "binance-ws", "event_time": NOW, "trade_id": 7}) == \
        ("BTCUSDT", "binance-ws", "t7")


@pytest.mark.parametrize("value, reason", POISON)
def test_poison_messages_get_their_reason(value: bytes, reason: str) -> None:
    """Each kind of bad message is named by the rule it breaks."""
    assert problem(value, SYMBOLS, 300_000, NOW) == reason


@pytest.mark.parametrize("price, expected", [("1", None), ("0.00000001", None), ("97000.5", None),
                                             ("0", Reason.NON_POSITIVE_PRICE), ("1e5", Reason.BAD_PRICE),
                                             (97000.5, Reason.BAD_PRICE), ("", Reason.BAD_PRICE)])
def test_price_rules(price: object, expected: str | None) -> None:
    """A price is a positive decimal string with at most 8 decimals."""
    assert price_problem(price) == expected


@pytest.mark.parametrize("trailing", [b" trailing", b"}", b' {"x": 1}', b"\n"])
def test_text_after_the_json_value_is_ignored(trailing: bytes) -> None:
    """Like Spark's JSON parsers, the rules read the first JSON value and ignore what follows."""
    assert problem(message() + trailing, SYMBOLS, 300_000, NOW) is None
