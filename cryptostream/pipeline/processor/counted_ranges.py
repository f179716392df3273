"""What one batch counted in one window, as the sink keeps it for recognising later copies
(counted_ranges): not the prices' dedup keys, which would make every batch's driver and MySQL
work grow with its messages, but their ranges and where in Kafka they are.

A later copy of a price has the copy's dedup key, so its event time (a price keyed by time) or
its trade id (a trade) lies inside the range of the batch that counted it. New prices arrive
at later times and higher trade ids, so normally no range overlaps and nothing is looked up;
only when one does are that batch's messages read back from Kafka for their exact keys
(earlier_keys.py)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptostream.pipeline.processor.windows import utc

Span = tuple[int, int]  # (first, last), both included


@dataclass(frozen=True)
class CountedRange:
    symbol: str
    window_start: datetime
    times: Span | None  # event times of the prices keyed by time (no trade id)
    trades: Span | None  # trade ids of the trades
    offsets: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # {topic: {partition: [first, last]}}

    @property
    def window(self) -> tuple[str, datetime]:
        return self.symbol, self.window_start

    def row(self, batch_id: int) -> tuple:
        """The counted_ranges row (sql/sink.sql insert_counted)."""
        symbol, window_start, *spans = self.bounds()
        return (symbol, window_start, batch_id, *spans, json.dumps(self.offsets, sort_keys=True))

    def bounds(self) -> tuple:
        """The values the overlap query (sql/sink.sql counted_overlapping) compares with."""
        times, trades = self.times or (None, None), self.trades or (None, None)
        return (*self.window, *times, *trades)


@dataclass(frozen=True)
class Earlier:
    """What earlier batches counted that this batch's ranges overlap: their ranges, to be read
    back from Kafka, and (only from rows kept before ranges replaced key lists) keys as stored."""
    ranges: tuple[tuple[int, CountedRange], ...] = ()  # (batch id, range)
    keys: frozenset[tuple[str, str]] = frozenset()  # (symbol, key)

    def __bool__(self) -> bool:
        return bool(self.ranges or self.keys)


def range_from_row(row: dict[str, Any]) -> CountedRange:
    """The counted range of a window's aggregate (classify.summarise, partials.combine)."""
    return CountedRange(row["symbol"], utc(row["window_start_ms"]), _span(row, "time_key_ms"),
                        _span(row, "trade_id"), row["counted_offsets"])


def _span(row: dict[str, Any], name: str) -> Span | None:
    first, last = row[f"first_{name}"], row[f"last_{name}"]
    return None if first is None else (first, last)
