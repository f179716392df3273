"""Combines classify.summarise's per-partition groups into what the sink writes: one
aggregate per (symbol, window), the rejected rows, and the next offset per partition.

A symbol's prices normally share one partition (the message key is the symbol), so most
windows arrive as a single group; a window spread over partitions is merged here exactly
(sums added, open/close by (event_time, partition, offset))."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SUMMED = ("price_sum", "sample_count", "volume", "notional")


@dataclass
class Summary:
    aggregates: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    next_offsets: dict[str, dict[str, int]] = field(default_factory=dict)  # {topic: {partition: offset}}


def combine(groups: list[dict[str, Any]]) -> Summary:
    summary = Summary()
    windows: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for group in groups:
        partitions = summary.next_offsets.setdefault(group["topic"], {})
        partition = str(group["partition"])
        partitions[partition] = max(partitions.get(partition, 0), group["next_offset"])
        summary.rejects += [reject.asDict() for reject in group["rejects"]]
        if group["symbol"] is not None:
            windows.setdefault((group["symbol"], group["window_start_ms"]), []).append(group)
    summary.aggregates = [parts[0] if len(parts) == 1 else merge(parts) for parts in windows.values()]
    return summary


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One window's groups from several partitions as one aggregate."""
    first = min(parts, key=lambda p: tuple(p["open_order"]))
    last = max(parts, key=lambda p: tuple(p["close_order"]))
    merged = dict(first)
    for name in SUMMED:
        values = [p[name] for p in parts if p[name] is not None]
        merged[name] = sum(values) if values else None
    merged.update(min_price=min(p["min_price"] for p in parts), max_price=max(p["max_price"] for p in parts),
                  open_price=first["open_price"], close_price=last["close_price"],
                  first_event_ms=min(p["first_event_ms"] for p in parts),
                  last_event_ms=max(p["last_event_ms"] for p in parts),
                  newest_ingest_ms=max(p["newest_ingest_ms"] for p in parts),
                  keys=",".join(p["keys"] for p in parts if p["keys"]))
    merged["distinct_keys"] = len(set(merged["keys"].split(",")))
    return merged
