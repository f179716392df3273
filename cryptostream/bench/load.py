"""Synthetic, valid price messages for load: a steady stream (bin/soak, the latency
benchmark) and a bulk preload (the throughput benchmark).

Each symbol gets at most one price per millisecond and source: (symbol, source, event_time)
is the dedup key, so two prices of one symbol in the same millisecond would be one price
delivered twice.
"""
from __future__ import annotations

import random
import threading
import time
from decimal import Decimal
from typing import Callable

from kafka import KafkaProducer

from cryptostream.core.config import Config
from cryptostream.pipeline.schema import PriceMessage

MAX_PER_SYMBOL_PER_S = 1000


def extra_symbols(count: int) -> tuple[str, ...]:
    """Made-up symbols beyond the configured ones (e.g. X001USDT), for wider benchmarks."""
    return tuple(f"X{i:03d}USDT" for i in range(1, count + 1))


def _producer(config: Config, **tuning) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=config.kafka.bootstrap_servers, acks="all", **tuning)


def steady(config: Config, rate: int, until: float, sent: list[int], stop: threading.Event,
           source: str = "soak") -> None:
    """Publish `rate` messages a second, stamped now, until `until` (monotonic) or stop;
    sent[0] counts them."""
    producer = _producer(config, linger_ms=20, enable_idempotence=True)
    rng = random.Random(7)
    symbols = config.exchange.symbols
    prices = {symbol: Decimal(100 + 10 * i) for i, symbol in enumerate(symbols)}
    last_ms = dict.fromkeys(symbols, 0)
    try:
        tick, due = time.monotonic(), 0.0
        while not stop.is_set() and time.monotonic() < until:
            now_ms = int(time.time() * 1000)
            due += rate / 10  # ten bursts a second; a rate below 10 sends in some of them only
            for _ in range(int(due)):
                due -= 1
                symbol = rng.choice(symbols)
                prices[symbol] = max(Decimal("0.01"), prices[symbol] + Decimal(rng.randint(-100, 100)) / 100)
                last_ms[symbol] = event_ms = max(now_ms, last_ms[symbol] + 1)  # one price per symbol and ms
                message = PriceMessage(symbol, f"{prices[symbol]:.8f}", event_ms, now_ms, source)
                producer.send(config.kafka.topic, key=symbol.encode(), value=message.to_json())
                sent[0] += 1
            tick += 0.1
            time.sleep(max(0.0, tick - time.monotonic()))
        producer.flush()
    finally:
        producer.close()


def preload(config: Config, topic: str, count: int, symbols: tuple[str, ...],
            progress: Callable[[int], None] = lambda sent: None) -> float:
    """Write `count` messages to `topic` as fast as the client allows; returns seconds taken.

    Symbols take turns, and event times advance one millisecond per round, ending a minute
    ago: every partition covers the same stretch of event time, so none falls behind the
    watermark, and nothing is in the future."""
    producer = _producer(config, linger_ms=50, batch_size=1 << 20,
                         max_request_size=4 << 20)
    rounds = count // len(symbols) + 1
    first_ms = int(time.time() * 1000) - 60_000 - rounds
    prices = [f"{Decimal(100) + Decimal(i) / 100:.8f}" for i in range(1000)]
    keys = [s.encode() for s in symbols]
    template = ('{"schema_version":1,"symbol":"%s","price":"%s","event_time":%d,"ingest_time":%d,'
                '"source":"bench"}')
    started = time.monotonic()
    try:
        for i in range(count):
            turn, event_ms = i % len(symbols), first_ms + i // len(symbols)
            value = template % (symbols[turn], prices[i % 1000], event_ms, event_ms)
            producer.send(topic, key=keys[turn], value=value.encode())
            if i % 100_000 == 0:
                progress(i)
        producer.flush()
    finally:
        producer.close()
    return time.monotonic() - started
