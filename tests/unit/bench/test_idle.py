"""bin/bench --phases idle: the per-part summary of the processor's batch lines."""
from __future__ import annotations

import pytest

from cryptostream.bench.idle import summary

pytestmark = pytest.mark.unit


def batch(rows: int, duration: int, add_batch: int, aggregate: float) -> dict:
    return {"input_rows": rows, "duration_ms": duration, "add_batch_ms": add_batch, "aggregate_ms": aggregate,
            "wal_commit_ms": 20}


BATCHES = [batch(5, 300, 200, 150.0), batch(6, 500, 400, 350.0), batch(4, 400, 300, 250.0)]
TREE = {"cpu_percent": {"processor": 40.0}, "peak_rss_mib": {"processor": 900}}
DRIVER = {"cpu_percent": {"driver_python": 6.5}}


def test_each_part_has_its_median() -> None:
    """The whole batch and each part it logs get their own p50."""
    figures = summary(BATCHES, TREE, DRIVER, 60)
    assert figures["batch_ms"]["p50"] == 400
    assert figures["parts_ms"]["add_batch_ms"]["p50"] == 300
    assert figures["parts_ms"]["aggregate_ms"]["p50"] == 250.0
    assert figures["rows_per_batch_p50"] == 5


def test_parts_no_batch_logged_are_left_out() -> None:
    """A part absent from every line (no second pass ran) is not reported as zero."""
    assert "dedup_again_ms" not in summary(BATCHES, TREE, DRIVER, 60)["parts_ms"]


def test_cpu_is_split_into_driver_python_and_the_jvm() -> None:
    """The JVM's share is the tree's CPU less the driver's Python."""
    cpu = summary(BATCHES, TREE, DRIVER, 60)["cpu_percent"]
    assert cpu == {"processor": 40.0, "driver_python": 6.5, "jvm": 33.5}


def test_cpu_per_batch_is_the_cpu_time_over_the_batches() -> None:
    """40 % of a core for 60 s over 3 batches is 8 s of CPU per batch."""
    assert summary(BATCHES, TREE, DRIVER, 60)["cpu_ms_per_batch"] == 8000


def test_no_samples_no_cpu() -> None:
    """Without two samples the CPU is unknown (None), not 0."""
    assert summary(BATCHES, {}, {}, 60)["cpu_percent"]["processor"] is None
