"""A window's aggregate as the sink stores it, and the one rule for combining parts of one
window (partitions of a batch in partials.py, a batch with what MySQL holds in sink.py)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from functools import reduce
from typing import Any, Mapping, Sequence

AVERAGE_PLACES = Decimal("0.000000000001")  # DECIMAL(32,12)
SUMMED = ("price_sum", "sample_count", "volume", "notional")
TIMES = ("first_event", "last_event", "newest_ingest")  # Window's names of the time fields


def merged(parts: Sequence[Mapping[str, Any]], first: Mapping[str, Any], last: Mapping[str, Any],
           times: tuple[str, str, str] = TIMES) -> dict[str, Any]:
    """The fields of one window's aggregate over `parts`: sums added (None where no part has
    one), the lowest and highest price, the open price of `first` and the close price of
    `last` (the callers order parts differently), the earliest and latest event and the newest
    ingest time (`times` names those three fields)."""
    first_event, last_event, newest_ingest = times
    combined = {name: reduce(_add, (p[name] for p in parts), None) for name in SUMMED}
    combined.update({"min_price": min(p["min_price"] for p in parts), "max_price": max(p["max_price"] for p in parts),
                     "open_price": first["open_price"], "close_price": last["close_price"],
                     first_event: min(p[first_event] for p in parts), last_event: max(p[last_event] for p in parts),
                     newest_ingest: max(p[newest_ingest] for p in parts)})
    return combined


def _add(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else a + b


@dataclass
class Window:
    symbol: str
    start: datetime
    price_sum: Decimal
    sample_count: int
    min_price: Decimal
    max_price: Decimal
    open_price: Decimal
    close_price: Decimal
    first_event: datetime
    last_event: datetime
    newest_ingest: datetime
    volume: Decimal | None = None  # sum of the trade quantities, when prices carry them
    notional: Decimal | None = None  # sum of price x quantity

    def merge(self, later: "Window") -> "Window":
        """This window's stored aggregate extended by a later batch's partial aggregate; on an
        event-time tie the stored open and the later close win."""
        first = later if later.first_event < self.first_event else self
        last = later if later.last_event >= self.last_event else self
        return replace(self, **merged((vars(self), vars(later)), vars(first), vars(last)))

    @property
    def average(self) -> Decimal:
        return (self.price_sum / self.sample_count).quantize(AVERAGE_PLACES, ROUND_HALF_EVEN)

    @property
    def vwap(self) -> Decimal | None:
        """Volume-weighted average price over the prices that carry a quantity."""
        if not self.volume:
            return None
        return (self.notional / self.volume).quantize(AVERAGE_PLACES, ROUND_HALF_EVEN)


def utc(ms: int) -> datetime:
    """Epoch milliseconds as a naive UTC datetime (the DATETIME columns hold UTC)."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).replace(tzinfo=None)


def epoch_ms(naive_utc: datetime) -> int:
    """The inverse of utc()."""
    return int(naive_utc.replace(tzinfo=timezone.utc).timestamp() * 1000)


def window_from_row(row: dict[str, Any]) -> Window:
    """A Spark aggregate row (classify.summarise, partials.combine) as a Window."""
    return Window(row["symbol"], utc(row["window_start_ms"]), row["price_sum"], row["sample_count"],
                  row["min_price"], row["max_price"], row["open_price"], row["close_price"],
                  utc(row["first_event_ms"]), utc(row["last_event_ms"]), utc(row["newest_ingest_ms"]),
                  row["volume"], row["notional"])
