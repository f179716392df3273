"""wait_for: poll a condition until it holds or a deadline passes, the one waiting loop of the package."""
from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T], timeout: float, interval: float = 0.5,
             retry: tuple[type[Exception], ...] = (Exception,),
             timed_out: Callable[[Exception | None], str] | None = None) -> T:
    """Call `check` every `interval` seconds until it returns something true, and return that.

    A RuntimeError from `check` is final; the exceptions in `retry` are retried (the last one is
    named in the TimeoutError), any other propagates. After `timeout` seconds: TimeoutError with
    `timed_out(last error)` as its message, by default "<what> not ready after <timeout>s"."""
    deadline = time.monotonic() + timeout
    while True:
        result, last = _attempt(check, retry)
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(timed_out(last) if timed_out else _not_ready(what, timeout, last))
        time.sleep(max(0.0, min(interval, deadline - time.monotonic())))  # the last check at the deadline


def _attempt(check: Callable[[], T], retry: tuple[type[Exception], ...]) -> tuple[T | None, Exception | None]:
    try:
        return check(), None
    except RuntimeError:
        raise
    except retry as exc:
        return None, exc


def _not_ready(what: str, timeout: float, last: Exception | None) -> str:
    return f"{what} not ready after {timeout:g}s" + (f": {last}" if last else "")
