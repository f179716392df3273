"""Figure: exact counts and sums, fixed buckets that merge across minutes and runs, percentiles
that are honest upper bounds, and the columns pipeline_stats stores them in."""
from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cryptostream.pipeline.stats.figure import MESSAGES, SECONDS, Figure, edge_label


def nearest_rank(values: list[float], fraction: float) -> float:
    """The percentile the checks quote, computed here from the raw values."""
    ordered = sorted(values)
    return ordered[int(round(fraction * (len(ordered) - 1)))]


def observed(values: list[float], edges: tuple[float, ...] = SECONDS) -> Figure:
    figure = Figure()
    for value in values:
        figure.observe(value, edges)
    return figure


def test_the_edges_step_by_at_most_a_third() -> None:
    """Seconds: 1 ms to 1000 s, 10 edges a decade; messages: 0 and whole numbers to 10^8."""
    assert SECONDS[0] == 0.001
    assert SECONDS[-1] == 1000.0
    assert len(SECONDS) == 61
    assert max(b / a for a, b in zip(SECONDS, SECONDS[1:])) <= 4 / 3 + 1e-12
    assert 0.25 in SECONDS and 5.0 in SECONDS and 30.0 in SECONDS, "the default thresholds are edges"
    assert MESSAGES[:12] == (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 15.0, 20.0)
    assert all(edge == int(edge) for edge in MESSAGES)
    assert MESSAGES[-1] == 1e8


def test_a_value_goes_to_the_first_edge_at_or_above_it() -> None:
    figure = observed([0.25, 0.250001, 0.0001, 5000.0])
    assert figure.buckets == {0.25: 1, 0.3: 1, 0.001: 1, float("inf"): 1}
    assert figure.columns()[4] == "0.001:1,0.25:1,0.3:1,inf:1"


def test_sums_are_exact_in_any_order() -> None:
    """Micro-units: 0.1 + 0.2 is 0.3, and a million values sum the same shuffled."""
    assert observed([0.1, 0.2]).sum == 0.3
    values = [random.Random(1).uniform(0, 2) for _ in range(10_000)]
    shuffled = values[:]
    random.Random(2).shuffle(shuffled)
    assert observed(values).total == observed(shuffled).total
    assert observed(values).total == sum(round(v * 1_000_000) for v in values)


def test_a_count_has_no_buckets_and_no_percentile() -> None:
    figure = Figure()
    figure.add(5)
    figure.add(0)
    assert (figure.samples, figure.sum, figure.buckets, figure.percentile(0.5)) == (5, 5.0, {}, None)
    assert figure.columns() == (5, figure.columns()[1], None, None, None)
    assert str(figure.columns()[1]) == "5.000000"


@given(st.lists(st.floats(min_value=0.0, max_value=2000.0), min_size=1, max_size=300),
       st.sampled_from((0.0, 0.5, 0.9, 0.95, 0.99, 1.0)))
def test_a_percentile_is_an_upper_bound_within_one_bucket(values: list[float], fraction: float) -> None:
    """Never below the true nearest-rank percentile, never above the maximum, and at most one
    bucket step above the truth (or the first edge, for values under a millisecond)."""
    figure = observed(values)
    rounded = [round(v * 1_000_000) / 1_000_000 for v in values]  # what the figure keeps
    true = nearest_rank(rounded, fraction)
    reported = figure.percentile(fraction)
    assert true <= reported <= max(rounded), (true, reported)
    assert reported <= max(true * 4 / 3, SECONDS[0]) + 1e-9 or true > SECONDS[-1], (true, reported)


@given(st.lists(st.floats(min_value=0.0, max_value=2e8), max_size=100),
       st.lists(st.floats(min_value=0.0, max_value=2e8), max_size=100))
def test_merging_equals_observing_everything(first: list[float], second: list[float]) -> None:
    """Minutes and runs merge exactly: counts, sums, extremes and every bucket."""
    merged = observed(first, MESSAGES).merge(observed(second, MESSAGES))
    assert merged == observed(first + second, MESSAGES)


@given(st.lists(st.floats(min_value=0.0, max_value=5000.0), max_size=50))
def test_the_columns_read_back_as_written(values: list[float]) -> None:
    figure = observed(values)
    assert Figure.from_columns(*figure.columns()) == figure


def test_edge_labels_are_plain_numbers() -> None:
    assert [edge_label(e) for e in (0.0012, 1000.0, 12000.0, 1e8, float("inf"))] == \
        ["0.0012", "1000", "12000", "100000000", "inf"]
    assert all(float(edge_label(e)) == e for e in SECONDS + MESSAGES)


@pytest.mark.parametrize("limit, expected", [(5.0, (2, 0)), (4.5, (2, 1)), (8.0, (1, 0)), (100.0, (0, 0))])
def test_values_above_a_limit_are_exact_at_an_edge(limit: float, expected: tuple[int, int]) -> None:
    """5 s is an edge: 4.8 s is certainly not over it. 4.5 s is not: the (4, 5] bucket may be."""
    figure = observed([0.3, 4.8, 5.5, 9.0])
    assert figure.count_above(limit, SECONDS) == expected
