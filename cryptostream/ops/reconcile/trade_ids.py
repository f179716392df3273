"""Exchange -> Kafka in the account: Binance's trade ids are consecutive per symbol, so an id
missing between two trades in the topic is a trade the exchange made that never reached Kafka
(a silent loss upstream of the pipeline, which the Kafka -> MySQL account cannot see)."""
from __future__ import annotations

from datetime import datetime, timezone

from cryptostream.ops.reconcile.messages import Message


def trade_ids(messages: list[Message]) -> dict[str, dict[int, int]]:
    """Per symbol: trade id -> event time (ms), for every message that carries a trade id."""
    found: dict[str, dict[int, int]] = {}
    for message in messages:
        try:
            body = message.body
        except ValueError:  # not JSON: a reject of its own in the account
            continue
        symbol, trade_id, event_time = body.get("symbol"), body.get("trade_id"), body.get("event_time")
        if isinstance(symbol, str) and isinstance(trade_id, int) and isinstance(event_time, int):
            found.setdefault(symbol, {})[trade_id] = event_time
    return found


def open_gaps(messages: list[Message], window_ms: int, since_ms: int | None = None,
              until_ms: int | None = None) -> list[str]:
    """One problem per run of trade ids missing between two that are in the topic, named by the
    window of the trade before it; only gaps in windows from `since_ms` until `until_ms`."""
    problems = []
    for symbol, times in sorted(trade_ids(messages).items()):
        ids = sorted(times)
        for before, after in zip(ids, ids[1:]):
            start = times[before] - times[before] % window_ms
            if after > before + 1 and (since_ms is None or start >= since_ms) and \
                    (until_ms is None or start < until_ms):
                window = datetime.fromtimestamp(start / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
                missing = after - before - 1
                problems.append(f"trade ids {before + 1}-{after - 1} of {symbol} missing in Kafka "
                                f"({missing} trade{'s' if missing > 1 else ''}; window {window})")
    return problems
