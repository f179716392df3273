"""partials.combine: one aggregate per window, whatever the groups Spark or the Java pass hand it."""
from __future__ import annotations

from decimal import Decimal

from cryptostream.pipeline.processor import partials


def group(partition: int, first_offset: int, last_offset: int, prices: list[str], first_event: int) -> dict:
    """A (partition, symbol, window) group of samples keyed by event time, one ms apart."""
    values = [Decimal(p) for p in prices]
    last_event = first_event + len(values) - 1
    return {"topic": "t", "partition": partition, "symbol": "BTCUSDT", "window_start_ms": 0,
            "price_sum": sum(values), "sample_count": len(values), "min_price": min(values),
            "max_price": max(values), "open_price": values[0], "close_price": values[-1],
            "open_order": (first_event, partition, first_offset), "close_order": (last_event, partition, last_offset),
            "first_event_ms": first_event, "last_event_ms": last_event, "newest_ingest_ms": last_event,
            "volume": None, "notional": None, "distinct_keys": len(values), "first_time_key_ms": first_event,
            "last_time_key_ms": last_event, "first_trade_id": None, "last_trade_id": None,
            "first_offset": first_offset, "next_offset": last_offset + 1, "rejects": [], "ingest_ages": [],
            "trade_event_ages": []}


def test_a_partition_read_by_two_tasks_gives_one_exact_window() -> None:
    """Two groups of one partition's window (two tasks read it): sums add, the counted offsets
    span both, and the distinct keys are left unknown, so the batch gets the exact pass."""
    summary = partials.combine([group(0, 100, 101, ["1", "2"], 10), group(0, 102, 104, ["3", "4", "5"], 12)])
    [window] = summary.aggregates
    assert (window["price_sum"], window["sample_count"]) == (Decimal(15), 5)
    assert (window["open_price"], window["close_price"]) == (Decimal(1), Decimal(5))
    assert window["counted_offsets"] == {"t": {"0": [100, 104]}}
    assert window["distinct_keys"] is None
    assert summary.next_offsets == {"t": {"0": 105}}


def test_a_window_in_two_partitions_keeps_each_partition_s_offsets() -> None:
    summary = partials.combine([group(0, 7, 8, ["1", "2"], 10), group(1, 50, 50, ["3"], 5)])
    [window] = summary.aggregates
    assert window["counted_offsets"] == {"t": {"0": [7, 8], "1": [50, 50]}}
    assert (window["open_price"], window["close_price"]) == (Decimal(3), Decimal(2))
