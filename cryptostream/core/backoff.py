"""Jittered exponential backoff: how long to wait after the n-th consecutive failure."""
from __future__ import annotations

import random


class Backoff:
    """Delays grow as initial * 2**n up to maximum; each is drawn from [d/2, d] so that
    many clients recovering at once do not retry in lock-step."""

    def __init__(self, initial: float, maximum: float, rng: random.Random | None = None) -> None:
        self.initial = initial
        self.maximum = maximum
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.maximum, self.initial * (2 ** self.failures))
        self.failures += 1
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        self.failures = 0
