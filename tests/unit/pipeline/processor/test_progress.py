"""The per-batch log line's parts, from Spark's durationMs."""
from __future__ import annotations

import pytest

from cryptostream.pipeline.processor.progress import duration_parts

pytestmark = pytest.mark.unit


def test_every_phase_becomes_a_snake_case_ms_field() -> None:
    """Spark's phases keep their milliseconds under <phase>_ms; triggerExecution is duration_ms elsewhere."""
    parts = duration_parts({"latestOffset": 12, "queryPlanning": 5, "addBatch": 240, "walCommit": 30,
                            "commitOffsets": 28, "triggerExecution": 330})
    assert parts == {"latest_offset_ms": 12, "query_planning_ms": 5, "add_batch_ms": 240, "wal_commit_ms": 30,
                     "commit_offsets_ms": 28}


def test_no_phases_no_fields() -> None:
    """A progress report without phases adds nothing to the line."""
    assert duration_parts({}) == {}
