"""The REST poll's cadence: prices land just before the processor's next trigger, polls stay
poll_interval apart."""
from __future__ import annotations

import random

import pytest

from cryptostream.pipeline.producer.cadence import PUBLISH_MARGIN_S, SLACK, PollCadence


def cadence(poll_interval: float, trigger: float, offset: float) -> PollCadence:
    """Monotonic time 0 is wall time `offset` (as if the machine booted `offset` s after the epoch)."""
    return PollCadence(poll_interval, trigger, wall=lambda: offset, monotonic=lambda: 0.0)


def wall_phase(start: float, offset: float, lead: float, trigger: float) -> float:
    """How far the poll's start plus its lead is from a trigger (0 = exactly on one)."""
    at = (start + offset + lead) % trigger
    return min(at, trigger - at)


def test_the_first_poll_after_a_random_phase_moves_to_lead_the_trigger() -> None:
    poller = cadence(1.0, 1.0, offset=1_000.3)
    poller.observe(0.02)
    start = poller.next_start(started=5.0, spacing=1.0)  # wall 1005.3: the next whole second, less the lead
    assert start == pytest.approx(1_007 - 0.02 - PUBLISH_MARGIN_S - 1_000.3)


def test_once_in_phase_polls_stay_one_interval_apart_though_each_wakes_late() -> None:
    poller = cadence(1.0, 1.0, offset=1_000.3)
    poller.observe(0.02)
    start = poller.next_start(5.0, 1.0)
    for _ in range(50):
        woke = start + 0.004  # the loop's wait ends a little after the planned start
        following = poller.next_start(woke, 1.0)
        assert following - start == pytest.approx(1.0)
        start = following


def test_any_phase_any_latency_lands_before_a_trigger_within_the_interval() -> None:
    rng = random.Random(7)
    for _ in range(2_000):
        trigger = rng.choice([0.5, 1.0, 2.0])
        interval = trigger * rng.choice([1, 2, 3])
        offset, started = rng.uniform(0, 1e9), rng.uniform(0, 1e5)
        poller = cadence(interval, trigger, offset)
        for _ in range(rng.randint(0, 3)):
            poller.observe(rng.uniform(0.001, 2.0))
        start = poller.next_start(started, interval)
        assert started + interval - SLACK * trigger - 1e-6 <= start < started + interval + trigger
        assert wall_phase(start, offset, poller.lead, trigger) < 1e-3
        assert poller.lead <= trigger / 2


def test_a_slow_exchange_caps_the_lead_at_half_a_trigger() -> None:
    poller = cadence(1.0, 1.0, offset=0.0)
    poller.observe(3.0)
    assert poller.lead == 0.5
    for _ in range(30):  # the slow answer is forgotten after the last 20
        poller.observe(0.01)
    assert poller.lead == pytest.approx(0.01 + PUBLISH_MARGIN_S)


@pytest.mark.parametrize("interval, trigger", [(1.5, 1.0), (0.5, 1.0), (1.0, 0.0)])
def test_intervals_that_do_not_line_up_keep_the_plain_spacing(interval, trigger) -> None:
    poller = cadence(interval, trigger, offset=123.456)
    poller.observe(0.02)
    assert poller.next_start(10.0, interval) == 10.0 + interval


def test_a_weight_pause_is_kept_and_then_aligned() -> None:
    poller = cadence(1.0, 1.0, offset=0.25)
    start = poller.next_start(100.0, 30.0)  # the exchange's weight says: not for 30 s
    assert 130.0 - SLACK <= start < 131.0
    assert wall_phase(start, 0.25, poller.lead, 1.0) < 1e-9
