"""The producer's WebSocket source (exchange.source = websocket): every trade of Binance's
combined trade stream into Kafka as one message (schema version 2, source "binance-ws")."""
from __future__ import annotations

import threading
import time
from typing import Callable

import structlog

from cryptostream.core import events, metrics
from cryptostream.core.backoff import Backoff
from cryptostream.core.config import Config
from cryptostream.pipeline.binance.backfill import Backfill, TradeHistory
from cryptostream.pipeline.binance.client import RateLimited
from cryptostream.pipeline.binance.endpoints import weight_pause
from cryptostream.pipeline.binance.limiter import SlidingWindowLimiter
from cryptostream.pipeline.binance.symbols import SymbolWatch
from cryptostream.pipeline.binance.websocket import Disconnected, Trade, TradeConnection, TradeMessageError
from cryptostream.pipeline.producer.gap_repair import GapRepair
from cryptostream.pipeline.producer.publisher import Publisher
from cryptostream.pipeline.producer.resume_point import published_trade_ids
from cryptostream.pipeline.producer.stream_report import REPORT_INTERVAL, StreamCounters, log_stopped, log_stream
from cryptostream.pipeline.producer.trade_connections import (CONNECT_ATTEMPTS, CONNECT_PERIOD, READ_TIMEOUT,
                                                              ConnectionLifecycle)
from cryptostream.pipeline.producer.trade_messages import SOURCE, RecentIds, live_gaps, to_message
from cryptostream.pipeline.stats import RunStats
from cryptostream.pipeline.stats.names import PRODUCER, stream_counter
from cryptostream.pipeline.stats.run_stats import for_program

__all__ = ["SOURCE", "RecentIds", "TradeProducer", "published_trade_ids"]
log = structlog.get_logger("producer")


class TradeProducer(ConnectionLifecycle, GapRepair):
    """Runs the stream until stopped or a deadline passes; `step()` does one unit of work.

    Nothing is lost across connections:
    - after any disconnect the producer reconnects (jittered backoff, at most 300 attempts per
      5 minutes), holds the new connection's trades until it knows each symbol's first new id
      (or for a second), fetches the gap below it over REST (binance/backfill.py) and publishes
      that before the held trades, once Kafka has acknowledged it: published in the other order,
      the newer trades would move the processor's watermark past the gap's windows;
    - at start it looks up the newest trade id it published per symbol (the topic's newest
      messages), so the trades of its own downtime are backfilled like any other gap;
    - before exchange.ws_max_connection_age it opens a new connection, reads what the old one still
      delivers, closes it and switches; the overlap is the same trades twice.
    - the configured symbols are checked against exchangeInfo (binance/symbols.py) at start, every
      exchange.symbol_check_interval and when the exchange answers -1121 (a refused stream URL, a
      backfill request); one that is unknown or not TRADING is left out of the stream and of the
      backfill: the connection is renewed without it, and renewed with it once it trades again.
    - on a live connection every trade's id is compared with the last one seen for its symbol:
      a jump (the exchange skipped trades without dropping the connection) is repaired over REST
      before the trades after it are published.
    Trades come in twice (overlap, backfill next to the stream): the producer skips ids it
    published recently (a bounded memory per symbol), and the processor counts each
    (symbol, source, trade id) once whatever gets through.
    """

    def __init__(self, config: Config, publisher: Publisher | None = None, history: TradeHistory | None = None,
                 connect: Callable[..., TradeConnection] = TradeConnection,
                 clock: Callable[[], float] = time.time, last_ids: dict[str, int] | None = None,
                 watch: SymbolWatch | None = None, stats: RunStats | None = None) -> None:
        exchange = config.exchange
        self.config, self.connect, self.clock = config, connect, clock
        self.watch = watch or SymbolWatch(exchange, clock=clock)
        self.resubscribe = False  # the active symbols changed: renew the connection with the new set
        self.stats = stats or for_program(PRODUCER, config, clock)  # written by a StatsWriter (poller.main)
        self.publisher = publisher or Publisher(config, self.stats)
        self.history = history or TradeHistory(exchange)
        self.stopping = threading.Event()
        self.backoff = Backoff(exchange.backoff_initial, exchange.backoff_max)
        self.attempts = SlidingWindowLimiter(CONNECT_ATTEMPTS, CONNECT_PERIOD)
        self.backfill = Backfill(self.history, exchange.backfill_max_requests,
                                 weight_pause=lambda used: weight_pause(used, exchange, self.clock()),
                                 sleep=self.stopping.wait, on_request=self._count_request,
                                 backoff=Backoff(exchange.backoff_initial, exchange.backoff_max))
        self.recent = RecentIds()
        self.last_id: dict[str, int] = dict(last_ids or {})  # the highest trade id seen per symbol
        self.counters = StreamCounters()
        self.conn: TradeConnection | None = None
        self.retry_at = 0.0  # monotonic time of the next connection attempt
        self.renew_after = 0.0  # a failed renewal is retried after a backoff delay
        self._since_report = StreamCounters()

    # --- the loop ---

    def run(self, duration: float | None = None) -> None:
        deadline = None if duration is None else time.monotonic() + duration
        next_report = time.monotonic() + REPORT_INTERVAL
        while not self.stopping.is_set() and (deadline is None or time.monotonic() < deadline):
            self.step()
            if time.monotonic() >= next_report:
                self.report()
                next_report = time.monotonic() + REPORT_INTERVAL
        self.close()

    def step(self) -> None:
        if self.watch.due():
            self._check_symbols()
        if self.conn is None:
            self._reconnect()
        elif not self.watch.active:  # every symbol left out: nothing to stream until one trades again
            self.conn.close()
            self._lost(Disconnected("closed by us: no configured symbol is trading"))
        elif (self.resubscribe or self.conn.age >= self.config.exchange.ws_max_connection_age) \
                and time.monotonic() >= self.renew_after:
            self._renew()
        else:
            self._read()

    def _check_symbols(self) -> None:
        """Which symbols to stream (binance/symbols.py); a change renews the connection."""
        try:
            changed = self.watch.check()
        except RateLimited as exc:  # the watch waits out Retry-After; the stream itself goes on
            log.warning(events.SYMBOL_CHECK_RATE_LIMITED, status=exc.status, retry_after_s=exc.retry_after)
            return
        self.resubscribe = self.resubscribe or (changed and self.conn is not None)

    def _read(self) -> None:
        try:
            items = self.conn.receive(READ_TIMEOUT)
        except Disconnected as exc:
            return self._lost(exc)
        if live_gaps(self.last_id, items, self.watch.active):
            return self._repair_live(items)
        self._accept(items)
        if items:
            self._hand_over(0.05)

    # --- publishing ---

    def _accept(self, items: list[Trade | TradeMessageError]) -> None:
        """Publish each trade not seen before; log and count the invalid ones."""
        now_ms = int(self.clock() * 1000)
        messages = []
        for item in items:
            self._count("received")
            if item.trade_id is not None:
                self.last_id[item.symbol] = max(self.last_id.get(item.symbol, item.trade_id), item.trade_id)
            if isinstance(item, TradeMessageError):
                self._invalid(item)
            elif self.recent.add(item.symbol, item.trade_id):
                messages.append(to_message(item, now_ms))
            else:
                self._count("duplicates")
        self.publisher.add(messages)

    def _invalid(self, error: TradeMessageError) -> None:
        if error.trade_id is not None:
            self.recent.add(error.symbol, error.trade_id)
        self._count("invalid")
        metrics.INVALID_PRICES.labels(error.reason).inc()
        log.warning(events.INVALID_TRADE, reason=error.reason, symbol=error.symbol, trade_id=error.trade_id,
                    error=str(error)[:400], invalid_total=self.counters.invalid)

    def _hand_over(self, wait: float, until_empty: bool = False) -> int:
        """Hand pending messages to Kafka; with until_empty, keep at it until all are
        acknowledged or `wait` has passed. Returns how many were acknowledged."""
        deadline = time.monotonic() + wait
        acked = 0
        while True:
            acked += self.publisher.drain(max(0.0, min(1.0, deadline - time.monotonic())))
            if not until_empty or not self.publisher.backlog or time.monotonic() >= deadline:
                break
        self._count("published", acked)
        metrics.published(acked, self.publisher.backlog)
        return acked

    def _count(self, name: str, n: int = 1) -> None:
        """Add to a counter's total, to its count since the last `stream` line and, but for
        `published` (the publisher counts acknowledgements itself), to pipeline_stats."""
        setattr(self.counters, name, getattr(self.counters, name) + n)
        setattr(self._since_report, name, getattr(self._since_report, name) + n)
        if name != "published":
            self.stats.add(stream_counter(name), n)

    def report(self) -> None:
        self._hand_over(0.2)
        self.stats.add(stream_counter("reports"))
        recent, self._since_report = self._since_report, StreamCounters()
        log_stream(recent, self.counters, self.publisher, self.conn)

    # --- stopping ---

    def stop(self, *_: object) -> None:
        self.stopping.set()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self._hand_over(0)
        self.publisher.close()
        self.history.close()
        self.watch.info.close()
        log_stopped(self.counters, self.publisher)

