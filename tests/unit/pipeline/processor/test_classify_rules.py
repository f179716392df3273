"""classify.Rules: which windows the watermark has closed, and the rules without it."""
from __future__ import annotations

import pytest

from cryptostream.pipeline.processor.classify import NO_WATERMARK, Rules

pytestmark = pytest.mark.unit

RULES = Rules(("BTCUSDT",), 60_000, 300_000, watermark_ms=120_000)


def test_a_window_ending_at_the_watermark_is_closed() -> None:
    """[60 s, 120 s) ends at the watermark: its rows are late (reason()'s test: end <= watermark)."""
    assert RULES.closed(60_000)


def test_a_window_ending_after_the_watermark_is_open() -> None:
    """[120 s, 180 s) is still open."""
    assert not RULES.closed(120_000)


def test_without_watermark_nothing_is_closed() -> None:
    """The rules without the watermark close no window, and keep everything else."""
    rules = RULES.without_watermark()
    assert rules.watermark_ms == NO_WATERMARK
    assert not rules.closed(-(2**61))
    assert (rules.symbols, rules.window_ms, rules.max_future_ms) == (RULES.symbols, RULES.window_ms, RULES.max_future_ms)
