"""Per-message latency: from each message a batch counts (its ingest_time; a trade's event time
too) to the commit of the MySQL transaction that counted it.

Spark hands the driver, per group, how many counted messages are of each age bucket at the
batch's start (age_columns.age_edge, age_counts); the commit time adds the same to each, which
gives every message's latency to its bucket. Age buckets are 10 ms wide up to 10 s, then a
tenth of their decade (10-11 s, ..., 99-100 s in 1 s steps, then 10 s steps ...), so a batch's
record stays small whatever its size. A bucket is named by its upper edge in milliseconds: a
message in bucket e waited at most e ms, and (below 10 s) more than e - 10.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Mapping

TICK_MS = 10  # age buckets are this wide up to FINE_MS
FINE_MS = 10_000


@dataclass
class Ages:
    """How many counted messages were of each age bucket (upper edge, ms) at `reference_ms`."""
    reference_ms: int = 0
    ingest: Counter = field(default_factory=Counter)  # since their ingest_time
    trade_event: Counter = field(default_factory=Counter)  # trades only: since the exchange's event time

    def add(self, group: Mapping) -> None:
        """A summarise group's two lists of [(age, n)] (age_columns.age_counts)."""
        for name, counts in (("ingest_ages", self.ingest), ("trade_event_ages", self.trade_event)):
            for entry in group.get(name) or ():
                counts[entry["age"]] += entry["n"]


@dataclass(frozen=True)
class Distribution:
    """Latencies of messages: {bucket upper edge ms: messages}, and the highest edge."""
    buckets: dict[int, int]

    @property
    def messages(self) -> int:
        return sum(self.buckets.values())

    @property
    def max_ms(self) -> int | None:
        return max(self.buckets, default=None)


def bucket_edge(latency_ms: int) -> int:
    """The upper edge of a latency's bucket: a multiple of TICK_MS up to FINE_MS, then of a
    tenth of the latency's decade."""
    if latency_ms <= FINE_MS:
        return -(-latency_ms // TICK_MS) * TICK_MS
    width = 10 ** (len(str(latency_ms)) - 2)
    return -(-latency_ms // width) * width


def latencies(ages: Mapping[int, int], reference_ms: int, commit_ms: int) -> Distribution:
    """Ages at `reference_ms` as latencies at `commit_ms`: each bucket moved by the time between."""
    waited = commit_ms - reference_ms
    return Distribution({edge + waited: count for edge, count in ages.items()})


def merged(distributions: Iterable[Distribution]) -> Distribution:
    total: Counter = Counter()
    for distribution in distributions:
        total.update(distribution.buckets)
    return Distribution(dict(total))


def percentile_ms(distribution: Distribution, point: float) -> int | None:
    """The bucket edge below which at least `point` of the messages fall (nearest rank)."""
    rank, seen = point * distribution.messages, 0
    for edge in sorted(distribution.buckets):
        seen += distribution.buckets[edge]
        if seen >= rank:
            return edge
    return None


def encode(distribution: Distribution) -> str:
    """"<edge ms>:<messages>,..." in edge order, as message_latency stores it."""
    return ",".join(f"{edge}:{count}" for edge, count in sorted(distribution.buckets.items()))


def decode(text: str | None) -> Distribution:
    pairs = (item.split(":") for item in (text or "").split(",") if item)
    return Distribution({int(edge): int(count) for edge, count in pairs})
