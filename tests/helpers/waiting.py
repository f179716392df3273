"""Waiting on a condition, failing with what was waited for."""
from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], what: str, timeout: float = 10.0, interval: float = 0.02) -> T:
    """Poll `condition` until it returns something true and return that; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"still waiting after {timeout:g}s for {what}"
        time.sleep(interval)
    return result
