"""The trade stream's gap repair: after a (re)connect, the trades missed below each symbol's
first new id are fetched over REST (binance/backfill.py) and published oldest first, each
slice acknowledged by Kafka, before the held live trades."""
from __future__ import annotations

import time

import structlog

from cryptostream.core import events, metrics
from cryptostream.pipeline.binance.backfill import Gap, Repair, TradePage
from cryptostream.pipeline.binance.websocket import Disconnected, Trade, TradeMessageError
from cryptostream.pipeline.producer.trade_connections import symbols_since
from cryptostream.pipeline.producer.trade_messages import first_ids, live_gaps, newest_ids
from cryptostream.pipeline.stats.names import API_ERRORS, API_LATENCY, API_RATE_LIMITED

ACK_WAIT = 10.0  # backfill acknowledged by Kafka before the held live trades follow it
log = structlog.get_logger("producer")
OUTCOME_METRICS = {"error": API_ERRORS, "rate_limited": API_RATE_LIMITED}  # a backfill request's, in pipeline_stats


class GapRepair:
    """TradeProducer's repair methods; they use its backfill, watch, publisher, counters, stats
    and last_id, and call its _accept, _count, _hand_over and _lost."""

    def _repair(self, held: list[Trade | TradeMessageError], lost: Disconnected | None) -> None:
        """Backfill every symbol's gap below the new connection's first trade (up to the present
        when it has none yet), publish it, then the held trades."""
        first_new = first_ids(held)
        gaps = [Gap(symbol, last + 1, first_new.get(symbol)) for symbol, last in sorted(self.last_id.items())
                if first_new.get(symbol, last + 2) > last + 1 and symbol in self.watch.active]
        if gaps:
            self._fill(gaps, "reconnect")
        self._accept(held)
        if lost is not None:
            self._lost(lost)

    def _repair_live(self, items: list[Trade | TradeMessageError]) -> None:
        """Trade ids jumped on the open connection: the exchange skipped trades, perhaps of other
        symbols too, which show only at their next trade. As after a reconnect, the connection's
        next trades are held until every symbol has one past the jump (or for a second); every
        gap is filled (up to the present for a symbol still silent) and published in time order
        with the held trades, so none reaches the processor after its window closed."""
        gaps = live_gaps(self.last_id, items, self.watch.active)
        jumped = {(g.symbol, g.until_id) for g in gaps}
        since = min(i.trade_time for i in items if isinstance(i, Trade) and (i.symbol, i.trade_id) in jumped)
        held, lost = self._hold(self.conn, items, since)
        gaps = live_gaps(self.last_id, held, self.watch.active)
        newest = {**self.last_id, **newest_ids(held)}
        past = symbols_since(held, since)
        gaps += [Gap(s, newest[s] + 1, None) for s in sorted(set(self.last_id) & set(self.watch.active) - past)]
        self._count("live_gaps", len(gaps))
        self._fill(gaps, "live", along=held)
        if lost is not None:
            self._lost(lost)

    def _fill(self, gaps: list[Gap], cause: str, along: list[Trade | TradeMessageError] = ()) -> None:
        """Fetch `gaps` and publish them in time order, merged with the live trades `along` them;
        `cause` (reconnect, live) goes into the log line."""
        started = time.monotonic()
        repair = self.backfill.repair(gaps)
        if repair.invalid_symbols:  # -1121 from historicalTrades: the symbol may have been delisted
            self.watch.invalid_symbol_seen()
        self._count("backfilled", len(repair.trades))
        self._accept([*repair.rejected, *(item for item in along if not isinstance(item, Trade))])
        acked = self._publish_in_time_order([*repair.trades, *(item for item in along if isinstance(item, Trade))])
        # an open-ended gap (no new trade yet) counts as at least one missed trade
        missed = sum((g.until_id - g.from_id) if g.until_id is not None else 1 for g in repair.incomplete)
        self._count("missed", missed)
        fields = {"cause": cause, **_repair_fields(gaps, repair, started)}
        if repair.incomplete:
            metrics.TRADES_MISSED.inc(missed)
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
        self._count("backfill_requests")
        metrics.EXCHANGE_REQUESTS.labels(outcome).inc()
        if outcome in OUTCOME_METRICS:
            self.stats.add(OUTCOME_METRICS[outcome])
        if page is not None:
            self.watch.budget.note(page.used_weight)
            metrics.EXCHANGE_LATENCY.observe(page.latency_ms / 1000)
            self.stats.observe(API_LATENCY, page.latency_ms / 1000)


def _repair_fields(gaps: list[Gap], repair: Repair, started: float) -> dict:
    return {"gaps": [[g.symbol, g.from_id, g.until_id] for g in gaps], "trades": len(repair.trades),
            "invalid": len(repair.rejected), "requests": repair.requests, "failures": repair.failures,
            "used_weight_1m": repair.used_weight, "duration_ms": round((time.monotonic() - started) * 1000, 1),
            "errors": repair.errors[:5] or None}
