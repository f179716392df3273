"""The producer: poll Binance's ticker, validate, publish to Kafka; one log line per poll.
With exchange.source = websocket it streams every trade instead (trade_stream.py)."""
from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import structlog

from cryptostream.core import config as config_module
from cryptostream.core import events, metrics
from cryptostream.core.backoff import Backoff
from cryptostream.core.config import Config, ConfigError
from cryptostream.pipeline.binance.clock import ClockWatch
from cryptostream.pipeline.binance.client import BinanceClient, ExchangeError, RateLimited, TickerResult
from cryptostream.pipeline.binance.endpoints import weight_pause
from cryptostream.pipeline.binance.symbols import SymbolWatch, is_invalid_symbol
from cryptostream.core.logs import configure
from cryptostream.pipeline.producer.cadence import PollCadence
from cryptostream.pipeline.producer.publisher import Publisher
from cryptostream.pipeline.schema import PriceMessage
from cryptostream.pipeline.stats import RunStats, StatsWriter
from cryptostream.pipeline.stats.names import API_ERRORS, API_LATENCY, API_RATE_LIMITED, PRODUCER
from cryptostream.pipeline.stats.run_stats import for_program

SOURCE = "binance-rest"
log = structlog.get_logger("producer")


@dataclass
class Counters:
    polls: int = 0
    api_failures: int = 0
    rate_limited: int = 0
    invalid_prices: int = 0
    missing_symbols: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


def to_messages(result: TickerResult, now_ms: int) -> list[PriceMessage]:
    return [PriceMessage(symbol=q.symbol, price=q.price, event_time=q.event_time,
                         ingest_time=now_ms, source=SOURCE) for q in result.quotes]


class PriceProducer:
    """Runs the poll loop until stopped, a poll count is reached, or a deadline passes."""

    def __init__(self, config: Config, client: BinanceClient | None = None,
                 publisher: Publisher | None = None, clock: Callable[[], float] = time.time,
                 watch: SymbolWatch | None = None, stats: RunStats | None = None) -> None:
        self.config = config
        self.client = client or BinanceClient(config.exchange, clock=clock)
        self.watch = watch or SymbolWatch(config.exchange, clock=clock)
        self.stats = stats or for_program(PRODUCER, config, clock)  # written by a StatsWriter (main)
        self.clock_watch = ClockWatch(config, self.stats)
        self.publisher = publisher or Publisher(config, self.stats)
        self.clock = clock
        self.counters = Counters()
        self.backoff = Backoff(config.exchange.backoff_initial, config.exchange.backoff_max)
        self.stopping = threading.Event()
        self.cadence = PollCadence(config.exchange.poll_interval, config.processor.trigger_interval, wall=clock)

    def poll_once(self) -> float:
        """Fetch and publish once; returns the time.monotonic() at which the next poll may start."""
        self.counters.polls += 1
        started = time.monotonic()
        next_at, fields = self._fetch(started)
        acked = self.publisher.drain()
        metrics.published(acked, self.publisher.backlog)
        fields.update(published=acked, pending=self.publisher.backlog, dropped_total=self.publisher.dropped,
                      published_total=self.publisher.published)
        if "error" in fields:  # a failed request (rate limits too) is a warning: retried after a back-off
            log.warning(events.POLL_FAILED, **fields)
        else:
            log.info(events.POLL, **fields)
        if self.publisher.backlog and acked == 0:
            next_at = max(next_at, time.monotonic() + self.config.producer.retry_interval)
        return next_at

    def _fetch(self, started: float) -> tuple[float, dict]:
        if self.clock_watch.due():  # our receipt time is the price's event time: how far off is it?
            self.clock_watch.check(self.client, self.clock)
        try:
            if self.watch.due():  # at start, every symbol_check_interval, and after a -1121
                self.watch.check()
            if not self.watch.active:  # nothing to ask for: wait for the next check
                return started + self.config.exchange.poll_interval, {"fetched": 0, "skipped": "no symbol trading"}
            result = self.client.fetch(self.watch.active)
        except RateLimited as exc:
            self.counters.rate_limited += 1
            metrics.EXCHANGE_REQUESTS.labels("rate_limited").inc()
            self.stats.add(API_RATE_LIMITED)
            # counted from the answer, so no request arrives before Retry-After has passed
            return time.monotonic() + exc.retry_after, {"error": "rate_limited", "status": exc.status,
                                     "retry_after_s": exc.retry_after, "rate_limited_total": self.counters.rate_limited}
        except ExchangeError as exc:
            self.counters.api_failures += 1
            metrics.EXCHANGE_REQUESTS.labels("error").inc()
            self.stats.add(API_ERRORS)
            self.watch.budget.note(exc.used_weight)
            # -1121: some symbol is unknown or delisted; find it now rather than back off for ever
            delay = 0.0 if is_invalid_symbol(exc) and self.watch.invalid_symbol_seen() else self.backoff.next_delay()
            return time.monotonic() + delay, {"error": type(exc).__name__, "detail": str(exc)[:300], "status": exc.status,
                           "backoff_s": round(delay, 3), "api_failures_total": self.counters.api_failures}
        self.backoff.reset()
        self.watch.budget.note(result.used_weight)
        metrics.EXCHANGE_REQUESTS.labels("ok").inc()
        metrics.EXCHANGE_LATENCY.observe(result.latency_ms / 1000)
        self.stats.observe(API_LATENCY, result.latency_ms / 1000)
        self._count_problems(result)
        self.publisher.add(to_messages(result, int(self.clock() * 1000)))
        pause = weight_pause(result.used_weight, self.config.exchange, self.clock())
        self.cadence.observe(result.latency_ms / 1000)
        return self.cadence.next_start(started, max(self.config.exchange.poll_interval, pause)), {
            "fetched": len(result.quotes), "invalid": len(result.rejected), "missing": result.missing or None,
            "api_latency_ms": round(result.latency_ms, 1), "used_weight_1m": result.used_weight,
            "weight_pause_s": round(pause, 1) if pause else None, "base_url": result.base_url}

    def _count_problems(self, result: TickerResult) -> None:
        self.counters.missing_symbols += len(result.missing)
        for symbol, price, reason in result.rejected:
            self.counters.invalid_prices += 1
            self.counters.by_reason[reason] = self.counters.by_reason.get(reason, 0) + 1
            metrics.INVALID_PRICES.labels(reason).inc()
            log.warning(events.INVALID_PRICE, symbol=symbol, price=price, reason=reason,
                        invalid_total=self.counters.invalid_prices)

    def run(self, max_polls: int | None = None, duration: float | None = None) -> None:
        deadline = None if duration is None else time.monotonic() + duration
        while not self.stopping.is_set():
            next_at = self.poll_once()
            if max_polls is not None and self.counters.polls >= max_polls:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            self.stopping.wait(max(0.0, next_at - time.monotonic()))  # wakes early on stop
        self.close()

    def stop(self, *_: object) -> None:
        self.stopping.set()

    def close(self) -> None:
        self.publisher.close()
        self.client.close()
        self.watch.info.close()
        log.info(events.STOPPED, polls=self.counters.polls, published_total=self.publisher.published,
                 pending=self.publisher.backlog, api_failures_total=self.counters.api_failures,
                 rate_limited_total=self.counters.rate_limited)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Poll Binance prices (or stream its trades) into Kafka.")
    parser.add_argument("--max-polls", type=int, help="stop after this many polls (REST source)")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    args = parser.parse_args(argv)
    configure("producer")
    try:
        config = config_module.load()
    except ConfigError as exc:
        log.error(events.CONFIG_ERROR, error=str(exc))
        return 2
    try:
        return (run_trade_stream if config.exchange.source == "websocket" else run_price_poller)(config, args)
    except metrics.PortInUse as exc:
        log.error(events.CANNOT_START, error=str(exc))
        return 2


def run_price_poller(config: Config, args: argparse.Namespace) -> int:
    """exchange.source = rest: every symbol's price, polled."""
    serve_metrics(config)  # first: a port in use ends the start before anything connects
    producer = PriceProducer(config)
    signal.signal(signal.SIGTERM, producer.stop)
    signal.signal(signal.SIGINT, producer.stop)
    log.info(events.STARTED, symbols=list(config.exchange.symbols), base_url=producer.client.base_url,
             topic=config.kafka.topic, poll_interval_s=config.exchange.poll_interval)
    writer = StatsWriter(config, producer.stats).start()
    producer.run(args.max_polls, args.duration)
    writer.close()
    return 0


def run_trade_stream(config: Config, args: argparse.Namespace) -> int:
    """exchange.source = websocket: every trade from the trade stream (trade_stream.py)."""
    from cryptostream.pipeline.producer.resume_point import published_trade_ids
    from cryptostream.pipeline.producer.trade_stream import TradeProducer  # loaded only for this source
    serve_metrics(config)
    resume = published_trade_ids(config)
    producer = TradeProducer(config, last_ids=resume)
    signal.signal(signal.SIGTERM, producer.stop)
    signal.signal(signal.SIGINT, producer.stop)
    log.info(events.STARTED, source="websocket", symbols=list(config.exchange.symbols),
             ws_base_url=config.exchange.ws_base_url, backfill_base_url=producer.history.base_url,
             topic=config.kafka.topic, max_connection_age_s=config.exchange.ws_max_connection_age,
             resume_from_trade_ids=resume or None)
    writer = StatsWriter(config, producer.stats).start()
    producer.run(args.duration)
    writer.close()
    return 0


def serve_metrics(config: Config) -> None:
    metrics.serve(config.metrics.producer_port, metrics.PRODUCER_REGISTRY, "metrics.producer_port")


if __name__ == "__main__":
    sys.exit(main())
