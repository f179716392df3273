"""The dedup keys one batch counted in one window, as the sink keeps them (counted_keys)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptostream.pipeline.processor.windows import utc


@dataclass(frozen=True)
class CountedKeys:
    """The dedup keys (schema.dedup_key) of the prices one batch counted in one window:
    "<source>:<event_time>" texts, and the event-time range they cover (to skip lists that
    cannot hold a copy)."""
    symbol: str
    window_start: datetime
    first: int
    last: int
    text: str  # comma-separated

    def values(self) -> set[str]:
        return set(self.text.split(",")) if self.text else set()

    @property
    def window(self) -> tuple[str, datetime]:
        return self.symbol, self.window_start


def keys_from_row(row: dict[str, Any]) -> CountedKeys:
    """The counted keys of a Spark aggregate row (classify.summarise, partials.combine)."""
    return CountedKeys(row["symbol"], utc(row["window_start_ms"]), row["first_event_ms"], row["last_event_ms"],
                       row["keys"])
