"""The producer's poll loop: rate-limit waits, backoff, weight pacing, invalid prices kept out.

The publisher here is an in-memory stand-in so the loop's decisions can be checked alone;
the end-to-end tests run the real producer against real Kafka.
"""
from __future__ import annotations

import time

from cryptostream.core.config import load
from cryptostream.pipeline.binance.endpoints import weight_pause
from cryptostream.pipeline.producer.poller import PriceProducer
from tests.helpers.exchange import add_fault, client_for, url_of
from tests.helpers.publishers import MemoryPublisher


def producer_for(exchange, **env) -> tuple[PriceProducer, MemoryPublisher]:
    config = load(env={"CRYPTOSTREAM_EXCHANGE_BASE_URLS": url_of(exchange),
                       "CRYPTOSTREAM_EXCHANGE_POLL_INTERVAL": "100ms", **env})
    publisher = MemoryPublisher()
    return PriceProducer(config, client=client_for(url_of(exchange)), publisher=publisher), publisher


def test_each_poll_publishes_one_message_per_symbol(exchange) -> None:
    """Three polls give three messages per symbol, in the one schema."""
    producer, publisher = producer_for(exchange)
    producer.run(max_polls=3)
    assert len(publisher.sent) == 15
    assert {m.symbol for m in publisher.sent} == set(producer.config.exchange.symbols)
    assert all(m.source == "binance-rest" and m.ingest_time >= m.event_time for m in publisher.sent)


def test_no_request_before_retry_after(exchange) -> None:
    """After a 429 with Retry-After: 1 the next request comes no sooner than 1 s later (the
    poll interval is 100 ms and a backoff at most 500 ms, so only Retry-After explains the wait)."""
    add_fault(exchange, mode="rate_limit", retry_after=1)
    producer, publisher = producer_for(exchange)
    producer.run(max_polls=2)
    first, second = exchange.RequestHandlerClass.state.requests[:2]
    assert second["at"] - first["at"] >= 1.0, "a request came before Retry-After had passed"
    assert producer.counters.rate_limited == 1
    assert len(publisher.sent) == 5


def test_server_errors_back_off_then_recover(exchange) -> None:
    """5xx answers are counted and retried after a growing delay; prices resume afterwards."""
    add_fault(exchange, mode="server_error", count=2)
    producer, publisher = producer_for(exchange, CRYPTOSTREAM_EXCHANGE_BACKOFF_INITIAL="200ms")
    started = time.monotonic()
    producer.run(max_polls=3)
    assert producer.counters.api_failures == 2
    assert len(publisher.sent) == 5
    assert time.monotonic() - started >= 0.1 + 0.2  # at least half of 200 ms, then of 400 ms


def test_weight_pause_only_near_the_budget() -> None:
    """Below 80% of 6000 there is no pause; above it, wait for the next clock minute."""
    exchange = load(env={}).exchange
    assert weight_pause(100, exchange, now=1_000_000.0) == 0
    assert weight_pause(None, exchange, now=1_000_000.0) == 0
    assert weight_pause(5000, exchange, now=60 * 1000 + 15) == 45


def test_polls_of_one_trigger_interval_reach_the_exchange_just_before_each_trigger(exchange) -> None:
    """Poll interval = trigger interval = 1 s: after the first poll, each request reaches the
    (local) exchange within the lead before a whole second, where Spark starts its batches,
    and the requests stay a second apart."""
    producer, publisher = producer_for(exchange, CRYPTOSTREAM_EXCHANGE_POLL_INTERVAL="1s",
                                       CRYPTOSTREAM_PROCESSOR_TRIGGER_INTERVAL="1s")
    producer.run(max_polls=4)
    requests = exchange.RequestHandlerClass.state.requests
    tickers = [r for r in requests if "ticker" in r["query"]][-3:]  # the first poll starts at once
    lead = producer.cadence.lead
    for request in tickers:
        before_trigger = -request["wall"] % 1.0
        assert before_trigger <= lead + 0.05, f"request at {request['wall']:.3f} is {before_trigger:.3f} s before a trigger"
    gaps = [b["at"] - a["at"] for a, b in zip(tickers, tickers[1:])]
    assert all(0.9 < gap < 1.1 for gap in gaps), gaps
    assert len(publisher.sent) == 20
