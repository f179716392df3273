"""The producer's WebSocket source (exchange.source = websocket): every trade into Kafka.

Each trade of Binance's combined trade stream becomes one message (schema version 2) with
event_time = the trade time, trade_id and quantity, source "binance-ws". One log line per
second (`stream`) says what came and went.

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
Trades come in twice (overlap, backfill next to the stream): the producer skips ids it
published recently (a bounded memory per symbol), and the processor counts each
(symbol, source, trade id) once whatever gets through.
"""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

import structlog

from cryptostream.core import events, metrics
from cryptostream.core.backoff import Backoff
from cryptostream.core.config import Config
from cryptostream.pipeline.binance.backfill import Backfill, Gap, Repair, TradeHistory, TradePage
from cryptostream.pipeline.binance.client import RateLimited
from cryptostream.pipeline.binance.symbols import SymbolWatch
from cryptostream.pipeline.binance.endpoints import weight_pause
from cryptostream.pipeline.binance.limiter import SlidingWindowLimiter
from cryptostream.pipeline.binance.websocket import (CONNECT_ERRORS, Disconnected, Trade, TradeConnection,
                                                     TradeMessageError)
from cryptostream.pipeline.producer.publisher import Publisher
from cryptostream.pipeline.schema import PriceMessage
from cryptostream.pipeline import topic

SOURCE = "binance-ws"  # live and backfilled trades alike: the processor's dedup key includes it
CONNECT_ATTEMPTS, CONNECT_PERIOD = 300, 300.0  # Binance: connection attempts per IP per 5 minutes
HOLD_SECONDS = 1.0  # after a (re)connect: how long to wait for each symbol's first new trade id
DRAIN_OLD_SECONDS = 3.0  # renewal: the longest the old connection is read after the new one opened
ACK_WAIT = 10.0  # backfill acknowledged by Kafka before the held live trades follow it
READ_TIMEOUT = 0.25
REPORT_INTERVAL = 1.0
RECENT_IDS = 20_000  # per symbol; minutes of trades even for the busiest symbols
log = structlog.get_logger("producer")


class RecentIds:
    """The last `per_symbol` trade ids seen of each symbol, to skip a trade that comes twice."""

    def __init__(self, per_symbol: int = RECENT_IDS) -> None:
        self.per_symbol = per_symbol
        self._order: dict[str, deque[int]] = {}
        self._seen: dict[str, set[int]] = {}

    def add(self, symbol: str, trade_id: int) -> bool:
        """Remember the id; False when it was already there."""
        seen = self._seen.setdefault(symbol, set())
        if trade_id in seen:
            return False
        order = self._order.setdefault(symbol, deque())
        if len(order) >= self.per_symbol:
            seen.discard(order.popleft())
        order.append(trade_id)
        seen.add(trade_id)
        return True


@dataclass
class StreamCounters:
    received: int = 0  # stream messages, valid or not
    published: int = 0  # acknowledged by Kafka
    duplicates: int = 0  # trades skipped because their id was published already
    invalid: int = 0
    connects: int = 0
    connect_failures: int = 0
    disconnects: int = 0
    renewals: int = 0
    backfilled: int = 0
    backfill_requests: int = 0
    missed: int = 0  # gaps (ids) the backfill could not fetch


def published_trade_ids(config: Config, per_partition: int = 5_000) -> dict[str, int]:
    """The highest trade id of each symbol among the topic's newest messages from this source
    (where a restarted producer resumes); empty when there are none or Kafka cannot say."""
    try:
        sample = topic.newest_messages(config, per_partition)
    except Exception as exc:  # noqa: BLE001 - no resume point: the stream starts afresh, logged
        log.warning(events.RESUME_POINT_UNKNOWN, error=type(exc).__name__, detail=str(exc)[:200])
        return {}
    last: dict[str, int] = {}
    for _, _, value, _ in sample:
        body = _json_object(value)
        if body.get("source") == SOURCE and isinstance(body.get("trade_id"), int) and body.get("symbol") \
                in config.exchange.symbols:
            last[body["symbol"]] = max(last.get(body["symbol"], -1), body["trade_id"])
    return last


def _json_object(value: bytes | None) -> dict:
    try:
        body = json.loads(value or b"")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def to_message(trade: Trade, now_ms: int) -> PriceMessage:
    return PriceMessage(symbol=trade.symbol, price=trade.price, event_time=trade.trade_time, ingest_time=now_ms,
                        source=SOURCE, trade_id=trade.trade_id, quantity=trade.quantity)


class TradeProducer:
    """Runs the stream until stopped or a deadline passes; `step()` does one unit of work."""

    def __init__(self, config: Config, publisher: Publisher | None = None, history: TradeHistory | None = None,
                 connect: Callable[..., TradeConnection] = TradeConnection,
                 clock: Callable[[], float] = time.time, last_ids: dict[str, int] | None = None,
                 watch: SymbolWatch | None = None) -> None:
        exchange = config.exchange
        self.config, self.connect, self.clock = config, connect, clock
        self.watch = watch or SymbolWatch(exchange, clock=clock)
        self.resubscribe = False  # the active symbols changed: renew the connection with the new set
        self.publisher = publisher or Publisher(config)
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
        self._accept(items)
        if items:
            self._hand_over(0.05)

    # --- connections ---

    def _open(self) -> TradeConnection | None:
        """A new connection, within the connection-attempt limit; None when it failed (logged)."""
        if not self.watch.active:
            return None  # nothing to stream until a check takes a symbol back
        if not self.attempts.acquire(self.stopping.wait):
            return None
        try:
            conn = self.connect(self.config.exchange.ws_base_url, self.watch.active)
        except CONNECT_ERRORS as exc:
            if getattr(getattr(exc, "response", None), "status_code", None) == 400:
                self.watch.invalid_symbol_seen()  # a stream URL refused: perhaps a symbol is gone
            self.counters.connect_failures += 1
            log.warning(events.WS_CONNECT_FAILED, error=type(exc).__name__, detail=str(exc)[:300],
                        attempts_5m=self.attempts.count(), connect_failures_total=self.counters.connect_failures)
            return None
        self.counters.connects += 1
        log.info(events.WS_CONNECTED, connection=conn.id, url=conn.url, attempts_5m=self.attempts.count())
        return conn

    def _reconnect(self) -> None:
        if self.stopping.wait(max(0.0, self.retry_at - time.monotonic())):
            return
        conn = self._open()
        if conn is None:
            self.retry_at = time.monotonic() + self.backoff.next_delay()
            return
        self.conn = conn
        if self.last_id:  # not the first connection: something may have been missed
            self._repair(*self._hold(conn))

    def _lost(self, exc: Disconnected) -> None:
        conn, self.conn = self.conn, None
        self.counters.disconnects += 1
        if conn.messages:  # it worked for a while: start the backoff afresh
            self.backoff.reset()
        delay = self.backoff.next_delay()
        self.retry_at = time.monotonic() + delay
        log.warning(events.WS_DISCONNECTED, connection=conn.id, detail=str(exc)[:300], code=exc.code,
                    age_s=round(conn.age, 1), messages=conn.messages, reconnect_in_s=round(delay, 3),
                    disconnects_total=self.counters.disconnects)

    def _renew(self) -> None:
        """Open the next connection before the old one reaches its age limit, read the old one
        up to where the new one starts, close it and switch."""
        new = self._open()
        if new is None:
            self.renew_after = time.monotonic() + self.backoff.next_delay()
            return
        held, lost = self._hold(new)
        old = self.conn
        self._drain(old, _first_ids(held))
        old.close()
        self.conn, self.resubscribe = new, False
        self.counters.renewals += 1
        log.info(events.WS_RENEWED, old_connection=old.id, new_connection=new.id, old_age_s=round(old.age, 1),
                 renewals_total=self.counters.renewals)
        self._repair(held, lost)

    def _drain(self, old: TradeConnection, first_new: dict[str, int]) -> None:
        """Read the old connection until it has delivered every trade before the new one's first
        (or for DRAIN_OLD_SECONDS); what is still missing then is backfilled."""
        deadline = time.monotonic() + DRAIN_OLD_SECONDS
        while time.monotonic() < deadline and any(self.last_id.get(s, -1) < i - 1 for s, i in first_new.items()):
            try:
                self._accept(old.receive(READ_TIMEOUT))
            except Disconnected:
                return

    # --- gap repair ---

    def _hold(self, conn: TradeConnection) -> tuple[list[Trade | TradeMessageError], Disconnected | None]:
        """The new connection's first messages: until every known symbol has one, or HOLD_SECONDS."""
        held: list[Trade | TradeMessageError] = []
        deadline = time.monotonic() + HOLD_SECONDS
        streamed = set(self.last_id) & set(self.watch.active)  # a symbol left out sends nothing
        while time.monotonic() < deadline and not streamed <= {i.symbol for i in held}:
            try:
                held += conn.receive(min(READ_TIMEOUT, max(0.0, deadline - time.monotonic())))
            except Disconnected as exc:
                return held, exc
        return held, None

    def _repair(self, held: list[Trade | TradeMessageError], lost: Disconnected | None) -> None:
        """Backfill every symbol's gap below the new connection's first trade (up to the present
        when it has none yet), publish it, then the held trades."""
        first_new = _first_ids(held)
        gaps = [Gap(symbol, last + 1, first_new.get(symbol)) for symbol, last in sorted(self.last_id.items())
                if first_new.get(symbol, last + 2) > last + 1 and symbol in self.watch.active]
        if gaps:
            self._fill(gaps)
        self._accept(held)
        if lost is not None:
            self._lost(lost)

    def _fill(self, gaps: list[Gap]) -> None:
        started = time.monotonic()
        repair = self.backfill.repair(gaps)
        if repair.invalid_symbols:  # -1121 from historicalTrades: the symbol may have been delisted
            self.watch.invalid_symbol_seen()
        self.counters.backfilled += len(repair.trades)
        self._since_report.backfilled += len(repair.trades)
        self._accept(repair.rejected)
        acked = self._publish_in_time_order(repair.trades)
        # an open-ended gap (no new trade yet) counts as at least one missed trade
        missed = sum((g.until_id - g.from_id) if g.until_id is not None else 1 for g in repair.incomplete)
        self.counters.missed += missed
        fields = _repair_fields(gaps, repair, started)
        if repair.incomplete:
            log.error(events.BACKFILL_INCOMPLETE, **fields, missed_at_least=missed, missed_total=self.counters.missed)
        else:
            log.info(events.BACKFILL, **fields, acknowledged=acked, pending=self.publisher.backlog)

    def _publish_in_time_order(self, trades: list[Trade]) -> int:
        """Publish backfilled trades oldest first, in slices of half the processor's watermark,
        each acknowledged before the next is sent: a micro-batch that ends inside the backfill
        then cannot move the watermark past the windows of the trades still to come."""
        span_ms = max(1, int(self.config.processor.watermark * 500))
        ordered = sorted(trades, key=lambda t: (t.trade_time, t.symbol, t.trade_id))
        acked, start = 0, 0
        while start < len(ordered):
            end = start
            while end < len(ordered) and ordered[end].trade_time < ordered[start].trade_time + span_ms:
                end += 1
            self._accept(ordered[start:end])
            acked += self._hand_over(ACK_WAIT, until_empty=True)
            if self.publisher.backlog:  # Kafka is away: the buffer keeps the order, waiting longer helps nothing
                self._accept(ordered[end:])
                break
            start = end
        return acked

    def _count_request(self, outcome: str, page: TradePage | None) -> None:
        self.counters.backfill_requests += 1
        metrics.EXCHANGE_REQUESTS.labels(outcome).inc()
        if page is not None:
            self.watch.budget.note(page.used_weight)
            metrics.EXCHANGE_LATENCY.observe(page.latency_ms / 1000)

    # --- publishing ---

    def _accept(self, items: list[Trade | TradeMessageError]) -> None:
        """Publish each trade not seen before; log and count the invalid ones."""
        now_ms = int(self.clock() * 1000)
        messages = []
        for item in items:
            self.counters.received += 1
            self._since_report.received += 1
            if item.trade_id is not None:
                self.last_id[item.symbol] = max(self.last_id.get(item.symbol, item.trade_id), item.trade_id)
            if isinstance(item, TradeMessageError):
                self._invalid(item)
            elif self.recent.add(item.symbol, item.trade_id):
                messages.append(to_message(item, now_ms))
            else:
                self.counters.duplicates += 1
                self._since_report.duplicates += 1
        self.publisher.add(messages)

    def _invalid(self, error: TradeMessageError) -> None:
        if error.trade_id is not None:
            self.recent.add(error.symbol, error.trade_id)
        self.counters.invalid += 1
        self._since_report.invalid += 1
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
        self.counters.published += acked
        self._since_report.published += acked
        metrics.PUBLISHED.inc(acked)
        metrics.PENDING.set(self.publisher.backlog)
        return acked

    def report(self) -> None:
        self._hand_over(0.2)
        recent, self._since_report = self._since_report, StreamCounters()
        conn = self.conn
        log.info(events.STREAM, received=recent.received, published=recent.published, duplicates=recent.duplicates,
                 invalid=recent.invalid, backfilled=recent.backfilled, pending=self.publisher.backlog,
                 connection=conn.id if conn else None, connection_age_s=round(conn.age, 1) if conn else None,
                 pings_answered=len(conn.pings_answered) if conn else None,
                 published_total=self.publisher.published, dropped_total=self.publisher.dropped,
                 disconnects_total=self.counters.disconnects, renewals_total=self.counters.renewals,
                 backfilled_total=self.counters.backfilled)

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
        log.info(events.STOPPED, published_total=self.publisher.published, pending=self.publisher.backlog,
                 received_total=self.counters.received, disconnects_total=self.counters.disconnects,
                 renewals_total=self.counters.renewals, backfilled_total=self.counters.backfilled,
                 missed_total=self.counters.missed)


def _first_ids(items: list[Trade | TradeMessageError]) -> dict[str, int]:
    """The lowest trade id per symbol among `items`."""
    first: dict[str, int] = {}
    for item in items:
        if item.trade_id is not None:
            first[item.symbol] = min(first.get(item.symbol, item.trade_id), item.trade_id)
    return first


def _repair_fields(gaps: list[Gap], repair: Repair, started: float) -> dict:
    return {"gaps": [[g.symbol, g.from_id, g.until_id] for g in gaps], "trades": len(repair.trades),
            "invalid": len(repair.rejected), "requests": repair.requests, "failures": repair.failures,
            "used_weight_1m": repair.used_weight, "duration_ms": round((time.monotonic() - started) * 1000, 1),
            "errors": repair.errors[:5] or None}
