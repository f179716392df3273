"""Combines classify.summarise's per-partition groups into what the sink writes: one
aggregate per (symbol, window), the rejected rows, and the next offset per partition.

A symbol's prices normally share one partition (the message key is the symbol), so most
windows arrive as a single group; a window spread over partitions is merged here exactly
(windows.merged: sums added, open/close by (event_time, partition, offset))."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptostream.pipeline.processor.latency import Ages
from cryptostream.pipeline.processor.windows import merged

TIMES_MS = ("first_event_ms", "last_event_ms", "newest_ingest_ms")  # the groups' names of the time fields
KEY_RANGES = ("time_key_ms", "trade_id")  # first_/last_ of each: counted_ranges.py


@dataclass
class Summary:
    aggregates: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    next_offsets: dict[str, dict[str, int]] = field(default_factory=dict)  # {topic: {partition: offset}}
    ages: Ages = field(default_factory=Ages)  # of the counted messages (processor/latency.py)
    groups: int = 0  # rows Spark handed the driver: one per (partition, symbol, window), whatever the messages


def combine(groups: list[dict[str, Any]], reference_ms: int = 0) -> Summary:
    """`reference_ms`: the time the groups' ages were taken at (classify.Rules.now_ms)."""
    summary = Summary(ages=Ages(reference_ms), groups=len(groups))
    windows: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for group in groups:
        partitions = summary.next_offsets.setdefault(group["topic"], {})
        partition = str(group["partition"])
        partitions[partition] = max(partitions.get(partition, 0), group["next_offset"])
        summary.rejects += [reject.asDict() for reject in group["rejects"]]
        summary.ages.add(group)
        if group["symbol"] is not None:
            windows.setdefault((group["symbol"], group["window_start_ms"]), []).append(group)
    summary.aggregates = [merge(parts) for parts in windows.values()]
    return summary


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One window's groups (normally one; several when its prices are in several partitions,
    or a partition was read by several tasks) as one aggregate, with the offsets its counted
    prices have in each partition."""
    offsets: dict[str, dict[str, list[int]]] = {}
    for p in parts:
        # a partition read by two tasks (the Java pass's groups are per task) gives two parts
        span = offsets.setdefault(p["topic"], {}).setdefault(str(p["partition"]), [p["first_offset"], p["next_offset"] - 1])
        span[:] = [min(span[0], p["first_offset"]), max(span[1], p["next_offset"] - 1)]
    if len(parts) == 1:
        return {**parts[0], "counted_offsets": offsets}
    first = min(parts, key=lambda p: tuple(p["open_order"]))
    last = max(parts, key=lambda p: tuple(p["close_order"]))
    spans = {name: pick((p[name] for p in parts if p[name] is not None), default=None)
             for kind in KEY_RANGES for name, pick in ((f"first_{kind}", min), (f"last_{kind}", max))}
    # whether a key repeats across partitions is not known here: None makes the batch look
    # (batch.py: distinct_keys differs from sample_count)
    return {**first, **merged(parts, first, last, TIMES_MS), **spans, "distinct_keys": None,
            "counted_offsets": offsets}
