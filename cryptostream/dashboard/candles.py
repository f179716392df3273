"""The window rows a page shows, read as the dashboard's SELECT-only account and bounded by the
time range asked for (ix_moving_averages_start_time)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from cryptostream.core import db
from cryptostream.core.config import Config

RANGES = {"1h": 3600, "1d": 86_400, "1w": 7 * 86_400}  # the page's time-range selector
COLUMNS = ("symbol", "start", "end", "open", "high", "low", "close", "average", "count", "volume", "vwap",
           "updated")


def row_cap(config: Config, seconds: int) -> int:
    """At most every window of the range for every symbol, and a few more for the open ones."""
    return (seconds // max(1, int(config.processor.window)) + 2) * len(config.exchange.symbols)


def windows(config: Config, range_name: str, since: datetime | None = None,
            now: datetime | None = None) -> list[dict[str, Any]]:
    """The windows starting in the range (all, or only those written after `since`), oldest first."""
    seconds = RANGES[range_name]
    start = (now or datetime.now(timezone.utc)).replace(tzinfo=None) - timedelta(seconds=seconds)
    cap = row_cap(config, seconds)
    statements = db.named_statements("dashboard")
    if since is None:
        query, params = statements["windows_since"], (start, cap)
    else:
        query, params = statements["windows_updated"], (start, since.replace(tzinfo=None), cap)
    connection = db.connect_reader(config)
    try:
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            return [as_json(row) for row in cursor.fetchall()]
    finally:
        connection.close()


def as_json(row: tuple) -> dict[str, Any]:
    """A row with times as ISO 8601 UTC (milliseconds) and prices as numbers for the chart."""
    return {name: _plain(value) for name, value in zip(COLUMNS, row)}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, Decimal):
        return float(value)
    return value


def parse_time(text: str) -> datetime:
    """A time the page sends back (an `updated` value), as naive UTC."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc).replace(tzinfo=None)
