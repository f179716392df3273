"""When the next REST poll starts: timed so that its prices reach Kafka just before the
processor's next micro-batch.

Spark starts a processing-time trigger's batches on the wall clock's multiples of the interval
(12:00:01.000, 12:00:02.000, ... for 1 s). A poll every second at a random phase lands its five
prices at a random point between two batches, and they wait up to a whole interval for the next
one (half of it on average). Started `lead` seconds before a trigger instead, where `lead` covers
the slowest of the last few fetches plus the publish, they wait only that margin. Polls stay
`poll_interval` apart (one may start up to a quarter of a trigger sooner, after a late
wake-up or when the lead grows), so the request rate is unchanged.
"""
from __future__ import annotations

import time
from collections import deque
from typing import Callable

PUBLISH_MARGIN_S = 0.05  # the publish and its acknowledgement, and the batch's own offset query
LATENCIES_KEPT = 20
SLACK = 0.25  # of a trigger interval: a poll may start this much sooner than poll_interval after
# the last one began (that one woke late, or the lead grew), rather than a whole interval later


class PollCadence:
    """Next start times of the poll loop (time.monotonic() values)."""

    def __init__(self, poll_interval: float, trigger_interval: float,
                 wall: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic) -> None:
        # Only a poll interval that is a whole number of triggers keeps one phase to the batches.
        ratio = poll_interval / trigger_interval if trigger_interval > 0 else 0
        self.trigger = trigger_interval if ratio >= 1 and abs(ratio - round(ratio)) < 1e-9 else None
        self.latencies: deque[float] = deque(maxlen=LATENCIES_KEPT)
        self.wall, self.monotonic = wall, monotonic

    def observe(self, fetch_seconds: float) -> None:
        self.latencies.append(fetch_seconds)

    @property
    def lead(self) -> float:
        """Seconds between a poll's start and the trigger it aims at (at most half an interval)."""
        assert self.trigger is not None
        return min(max(self.latencies, default=0.0) + PUBLISH_MARGIN_S, self.trigger / 2)

    def next_start(self, started: float, spacing: float) -> float:
        """The first start at least `spacing` after `started` (less the slack) that is `lead`
        before a trigger; `started + spacing` when the intervals do not line up."""
        earliest = started + spacing
        if self.trigger is None:
            return earliest
        offset = self.wall() - self.monotonic()  # wall clock = monotonic + offset
        lead = self.lead
        aim = (earliest - SLACK * self.trigger + offset + lead) / self.trigger
        return -(-aim // 1) * self.trigger - lead - offset  # ceil: the next trigger, less the lead
