"""Figure: one metric's count, exact sum, minimum and maximum, with counts in fixed buckets, so
that figures of many minutes and runs merge exactly and give honest percentiles over any range.

Values are kept in micro-units (integers), so sums stay exact in any order and in MySQL's
DECIMAL. A percentile is the upper edge of the bucket that holds it, capped by the exact
maximum: never below the true value, and at most one bucket step (x1.34) above it.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from decimal import Decimal

MICRO = 1_000_000
# Bucket edges per decade: steps of at most x1.34, readable in a report ("p95 <= 2.5 s").
MANTISSAS = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8)
OVERFLOW = "inf"  # values above the last edge


def _decades(low: int, high: int) -> tuple[float, ...]:
    """Edges m x 10^e for low <= e < high, then 10^high."""
    return tuple(float(f"{m}e{e}") for e in range(low, high) for m in MANTISSAS) + (10.0 ** high,)


# Durations in seconds: 1 ms to 1000 s. Message counts (lag): 0, then whole numbers to 10^8.
SECONDS = _decades(-3, 3)
MESSAGES = (0.0, *sorted({float(round(edge)) for edge in _decades(0, 8)}))


def edge_label(edge: float) -> str:
    """How a bucket's upper edge is written in pipeline_stats.buckets ('0.25', '1200', 'inf')."""
    return OVERFLOW if edge == float("inf") else f"{edge:g}" if edge < 1e5 else str(int(edge))


@dataclass
class Figure:
    """Counts (add) or observed values (observe) of one metric; merge() adds another's."""
    samples: int = 0
    total: int = 0  # micro-units
    low: int | None = None  # micro-units; None for a plain count
    high: int | None = None
    buckets: dict[float, int] = field(default_factory=dict)  # upper edge -> values in (previous edge, edge]

    def add(self, n: int = 1) -> None:
        """n more events of a count (each is worth 1: the sum equals the count)."""
        self.samples += n
        self.total += n * MICRO

    def observe(self, value: float, edges: tuple[float, ...]) -> None:
        """One measured value, into the bucket of `edges` that holds it."""
        micro = round(value * MICRO)
        self.samples += 1
        self.total += micro
        self.low = micro if self.low is None else min(self.low, micro)
        self.high = micro if self.high is None else max(self.high, micro)
        index = bisect_left(edges, micro / MICRO)
        edge = edges[index] if index < len(edges) else float("inf")
        self.buckets[edge] = self.buckets.get(edge, 0) + 1

    def merge(self, other: Figure) -> Figure:
        self.samples += other.samples
        self.total += other.total
        if other.low is not None:
            self.low = other.low if self.low is None else min(self.low, other.low)
            self.high = other.high if self.high is None else max(self.high, other.high)
        for edge, count in other.buckets.items():
            self.buckets[edge] = self.buckets.get(edge, 0) + count
        return self

    def copy(self) -> Figure:
        return Figure(self.samples, self.total, self.low, self.high, dict(self.buckets))

    @property
    def sum(self) -> float:
        return self.total / MICRO

    @property
    def mean(self) -> float | None:
        return self.total / MICRO / self.samples if self.samples else None

    @property
    def maximum(self) -> float | None:
        return None if self.high is None else self.high / MICRO

    @property
    def minimum(self) -> float | None:
        return None if self.low is None else self.low / MICRO

    def percentile(self, fraction: float) -> float | None:
        """An upper bound of the nearest-rank percentile (sorted values, index round(fraction x (n-1)),
        as cryptostream/ops/health/percentile.py): its bucket's upper edge, capped by the maximum."""
        counted = sum(self.buckets.values())
        if not counted:
            return None
        rank, seen = int(round(fraction * (counted - 1))), 0
        for edge in sorted(self.buckets):
            seen += self.buckets[edge]
            if seen > rank:
                return min(edge, self.maximum)
        raise AssertionError("unreachable: the ranks are within the counts")

    def count_above(self, limit: float, edges: tuple[float, ...]) -> tuple[int, int]:
        """(values certainly above `limit`, values that may be), for figures observed on `edges`: a
        bucket whose lower edge is at or above the limit holds only larger values, one that
        straddles it may. Exact when `limit` is one of the edges."""
        certain = possible = 0
        for edge, count in self.buckets.items():
            if edge <= limit:
                continue
            index = bisect_left(edges, edge)
            lower = edges[index - 1] if index else float("-inf")
            if lower >= limit:
                certain += count
            else:
                possible += count
        return certain, possible

    # --- as stored in pipeline_stats ---

    def columns(self) -> tuple[int, Decimal, Decimal | None, Decimal | None, str | None]:
        """(samples, total, min_value, max_value, buckets) as the table's columns hold them."""
        def exact(micro: int | None) -> Decimal | None:
            return None if micro is None else Decimal(micro).scaleb(-6)
        buckets = ",".join(f"{edge_label(edge)}:{count}" for edge, count in sorted(self.buckets.items()))
        return self.samples, exact(self.total), exact(self.low), exact(self.high), buckets or None

    @classmethod
    def from_columns(cls, samples: int, total: Decimal, low: Decimal | None, high: Decimal | None,
                     buckets: str | None) -> Figure:
        def micro(value: Decimal | None) -> int | None:
            return None if value is None else int(Decimal(value).scaleb(6))
        counts = {}
        for item in (buckets or "").split(","):
            if item:
                edge, count = item.rsplit(":", 1)
                counts[float(edge)] = int(count)
        return cls(int(samples), micro(total), micro(low), micro(high), counts)
