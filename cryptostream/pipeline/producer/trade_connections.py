"""The trade stream's connection lifecycle: open within Binance's attempt limit, reconnect
with backoff after a loss, renew before the age limit, and hold a new connection's first
trades until the gap below them is repaired (gap_repair.py)."""
from __future__ import annotations

import time

import structlog

from cryptostream.core import events
from cryptostream.pipeline.binance.websocket import CONNECT_ERRORS, Disconnected, Trade, TradeConnection, \
    TradeMessageError
from cryptostream.pipeline.producer.trade_messages import first_ids

CONNECT_ATTEMPTS, CONNECT_PERIOD = 300, 300.0  # Binance: connection attempts per IP per 5 minutes
HOLD_SECONDS = 1.0  # after a (re)connect: how long to wait for each symbol's first new trade id
DRAIN_OLD_SECONDS = 3.0  # renewal: the longest the old connection is read after the new one opened
READ_TIMEOUT = 0.25
log = structlog.get_logger("producer")


class ConnectionLifecycle:
    """TradeProducer's connection methods; they use its connect, watch, attempts, backoff,
    conn, counters and last_id, and call its _accept and _repair."""

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
            self._count("connect_failures")
            log.warning(events.WS_CONNECT_FAILED, error=type(exc).__name__, detail=str(exc)[:300],
                        attempts_5m=self.attempts.count(), connect_failures_total=self.counters.connect_failures)
            return None
        self._count("connects")
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
        self._count("disconnects")
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
        self._drain(old, first_ids(held))
        old.close()
        self.conn, self.resubscribe = new, False
        self._count("renewals")
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

    def _hold(self, conn: TradeConnection, held: list[Trade | TradeMessageError] | None = None,
              since_ms: int | None = None) -> tuple[list[Trade | TradeMessageError], Disconnected | None]:
        """A connection's next messages after `held`: until every known symbol has one (from
        `since_ms` on, when given), or HOLD_SECONDS."""
        held = list(held or [])
        deadline = time.monotonic() + HOLD_SECONDS
        streamed = set(self.last_id) & set(self.watch.active)  # a symbol left out sends nothing
        while time.monotonic() < deadline and not streamed <= symbols_since(held, since_ms):
            try:
                held += conn.receive(min(READ_TIMEOUT, max(0.0, deadline - time.monotonic())))
            except Disconnected as exc:
                return held, exc
        return held, None


def symbols_since(items: list[Trade | TradeMessageError], since_ms: int | None) -> set[str]:
    """The symbols with a message among `items` (a trade at or after `since_ms`, when given)."""
    if since_ms is None:
        return {item.symbol for item in items}
    return {item.symbol for item in items if isinstance(item, Trade) and item.trade_time >= since_ms}
