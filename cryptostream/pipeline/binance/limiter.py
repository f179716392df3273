"""A sliding-window limit: at most `limit` events in any `period` seconds.

Binance counts WebSocket connection attempts per IP (300 per 5 minutes) and the messages a
client sends per connection (5 per second); crossing either gets connections dropped and
repeat offenders banned, so the client asks before it acts rather than after.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable


class SlidingWindowLimiter:
    """Remembers when the last `limit` events happened; `wait_time()` says how long until one more fits."""

    def __init__(self, limit: int, period: float, clock: Callable[[], float] = time.monotonic) -> None:
        if limit <= 0 or period <= 0:
            raise ValueError("limit and period must be positive")
        self.limit = limit
        self.period = period
        self.clock = clock
        self._events: deque[float] = deque()
        self._lock = threading.Lock()

    def _forget_old(self, now: float) -> None:
        while self._events and self._events[0] <= now - self.period:
            self._events.popleft()

    def count(self) -> int:
        """Events within the current window."""
        with self._lock:
            self._forget_old(self.clock())
            return len(self._events)

    def wait_time(self) -> float:
        """Seconds until one more event stays within the limit; 0 when it fits now."""
        with self._lock:
            now = self.clock()
            self._forget_old(now)
            if len(self._events) < self.limit:
                return 0.0
            return self._events[0] + self.period - now

    def record(self) -> None:
        with self._lock:
            self._events.append(self.clock())

    def acquire(self, sleep: Callable[[float], bool]) -> bool:
        """Block (through `sleep`, which returns True to abandon) until an event fits, then record
        it. Returns False when abandoned, so a stopping program is not held up."""
        while (delay := self.wait_time()) > 0:
            if sleep(delay):
                return False
        self.record()
        return True
