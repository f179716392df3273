"""core.polling.wait_for: the one waiting loop."""
from __future__ import annotations

import pytest

from cryptostream.core.polling import wait_for


def test_returns_the_first_true_result() -> None:
    """The check's first true value is returned, after the false ones are retried."""
    answers = iter([0, None, "ready"])
    assert wait_for("x", lambda: next(answers), timeout=5, interval=0) == "ready"


def test_runtime_error_is_final_and_others_are_retried_until_the_timeout() -> None:
    """A RuntimeError ends the wait at once; a retried error is named in the TimeoutError."""
    def broken() -> bool:
        raise RuntimeError("gone")
    with pytest.raises(RuntimeError, match="gone"):
        wait_for("x", broken, timeout=5, interval=0)

    def refused() -> bool:
        raise ConnectionRefusedError("refused")
    with pytest.raises(TimeoutError, match=r"^the thing not ready after 0s: refused$"):
        wait_for("the thing", refused, timeout=0, interval=0)


def test_an_error_outside_retry_propagates_and_timed_out_words_the_timeout() -> None:
    """Only the errors in `retry` are retried; `timed_out` replaces the default message."""
    def bad() -> bool:
        raise KeyError("k")
    with pytest.raises(KeyError):
        wait_for("x", bad, timeout=5, interval=0, retry=(ValueError,))
    with pytest.raises(TimeoutError, match="^custom None$"):
        wait_for("x", lambda: False, timeout=0, interval=0, timed_out=lambda last: f"custom {last}")
