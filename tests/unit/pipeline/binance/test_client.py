"""The Binance client against the simulated exchange over real HTTP on 127.0.0.1."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from cryptostream.simulator import server as simulator
from cryptostream.pipeline.binance.client import (ExchangeError, ExchangeUnavailable,
                                                  RateLimited, parse_ticker)
from cryptostream.core.ports import free_port
from tests.helpers.exchange import add_fault, client_for, url_of

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "ADAUSDT")


def test_one_batched_request_returns_every_symbol(exchange) -> None:
    """All configured symbols come back from one weight-4 call, with the weight header read."""
    result = client_for(url_of(exchange)).fetch()
    assert sorted(q.symbol for q in result.quotes) == sorted(SYMBOLS)
    assert all(Decimal(q.price) > 0 for q in result.quotes)
    assert result.used_weight == 4
    assert not result.missing
    assert not result.rejected
    assert len(exchange.RequestHandlerClass.state.requests) == 1


def test_rate_limit_carries_retry_after(exchange) -> None:
    """429 and 418 raise RateLimited with the server's Retry-After."""
    add_fault(exchange, mode="rate_limit", retry_after=7)
    add_fault(exchange, mode="ban", retry_after=120)
    client = client_for(url_of(exchange))
    with pytest.raises(RateLimited) as first:
        client.fetch()
    with pytest.raises(RateLimited) as second:
        client.fetch()
    assert (first.value.status, first.value.retry_after) == (429, 7)
    assert (second.value.status, second.value.retry_after) == (418, 120)


def test_geo_block_moves_to_the_next_base_url(exchange) -> None:
    """HTTP 451 on the first base URL makes the client use the next one, and stay there."""
    other = simulator.make_server(0, 1)
    simulator.start_in_thread(other)
    try:
        add_fault(exchange, mode="geo_block", count=5)
        client = client_for(url_of(exchange), url_of(other))
        assert client.fetch().base_url == url_of(other)
        assert client.fetch().base_url == url_of(other)
    finally:
        other.shutdown()


def test_unreachable_hosts_fall_back_then_fail(exchange) -> None:
    """A refused connection moves on to the next URL; all refused raises ExchangeUnavailable."""
    dead = f"http://127.0.0.1:{free_port()}"
    assert client_for(dead, url_of(exchange)).fetch().base_url == url_of(exchange)
    with pytest.raises(ExchangeUnavailable):
        client_for(dead).fetch()


@pytest.mark.parametrize("fault, error", [({"mode": "server_error", "status": 502}, ExchangeError),
                                          ({"mode": "malformed"}, ExchangeError),
                                          ({"mode": "slow", "delay": 1.0}, ExchangeUnavailable)])
def test_server_faults_raise(exchange, fault, error) -> None:
    """5xx, malformed bodies and reads past the timeout are errors, not prices."""
    add_fault(exchange, **fault)
    with pytest.raises(error):
        client_for(url_of(exchange), read_timeout="200ms").fetch()


def test_missing_symbols_are_reported(exchange) -> None:
    """A response lacking symbols yields the rest, and names the missing ones."""
    add_fault(exchange, mode="missing_symbols", drop=2)
    result = client_for(url_of(exchange)).fetch()
    assert len(result.quotes) == 3
    assert len(result.missing) == 2


def test_parse_rejects_bad_prices_and_unknown_symbols() -> None:
    """Invalid items are listed with reasons; valid ones still come through."""
    body = json.dumps([{"symbol": "BTCUSDT", "price": "97000.10000000"},
                       {"symbol": "ETHUSDT", "price": "-1"},
                       {"symbol": "DOGEUSDT", "price": "0.3"},
                       {"symbol": "SOLUSDT", "price": "NaN"}])
    result = parse_ticker(body, SYMBOLS, 1000)
    assert [(q.symbol, q.price, q.event_time) for q in result.quotes] == [("BTCUSDT", "97000.10000000", 1000)]
    assert {r[2] for r in result.rejected} == {"bad_price", "unknown_symbol"}
    assert set(result.missing) == {"ETHUSDT", "SOLUSDT", "BNBUSDT", "ADAUSDT"}
