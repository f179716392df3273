"""A micro-batch's message count from the checkpoint's offsets log (processor/batch_size.py),
which decides whether it is read in one task; anything it cannot read is "not known"."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cryptostream.pipeline.processor import batch_size

pytestmark = pytest.mark.unit
METADATA = json.dumps({"batchWatermarkMs": 0, "batchTimestampMs": 1796317132536, "conf": {}})


def write(checkpoint: Path, batch_id: int, *lines: str) -> None:
    (checkpoint / "offsets").mkdir(parents=True, exist_ok=True)
    (checkpoint / "offsets" / str(batch_id)).write_text("\n".join(lines))


def offsets(checkpoint: Path, batch_id: int, ends: dict) -> None:
    write(checkpoint, batch_id, "v1", METADATA, json.dumps({"crypto_prices": ends}))


def test_the_messages_between_two_batches_ends(tmp_path) -> None:
    offsets(tmp_path, 6, {"0": 43, "1": 0, "2": 76})
    offsets(tmp_path, 7, {"0": 45, "1": 3, "2": 76})
    assert batch_size.messages(tmp_path, 7) == 5


def test_not_known_for_the_first_batch_a_missing_file_or_a_new_partition(tmp_path) -> None:
    offsets(tmp_path, 0, {"0": 10})
    offsets(tmp_path, 2, {"0": 12})
    offsets(tmp_path, 3, {"0": 12, "1": 4})
    assert batch_size.messages(tmp_path, 0) is None
    assert batch_size.messages(tmp_path, 1) is None  # no file 1
    assert batch_size.messages(tmp_path, 3) is None  # partition 1's start is not known


@pytest.mark.parametrize("lines", [("v2", METADATA, "{}"), ("v1", METADATA), ("v1", METADATA, "not json"),
                                   ("v1", METADATA, '{"crypto_prices": [1]}')])
def test_a_file_in_another_format_is_not_known(tmp_path, lines) -> None:
    offsets(tmp_path, 1, {"0": 1})
    write(tmp_path, 2, *lines)
    assert batch_size.messages(tmp_path, 2) is None
