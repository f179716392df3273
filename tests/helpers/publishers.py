"""An in-memory stand-in for the Kafka publisher, so a producer loop's decisions are checked alone."""
from __future__ import annotations


class MemoryPublisher:
    def __init__(self) -> None:
        self.pending, self.sent, self.dropped, self.published = [], [], 0, 0

    @property
    def backlog(self) -> int:
        return len(self.pending)

    def add(self, messages) -> None:
        self.pending.extend(messages)

    def drain(self, wait: float = 0) -> int:
        count = len(self.pending)
        self.sent.extend(self.pending)
        self.published += count
        self.pending = []
        return count

    def close(self, timeout: float = 0) -> None:
        return None
