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


def initial(checkpoint: Path, text: str) -> None:
    (checkpoint / "sources" / "0").mkdir(parents=True, exist_ok=True)
    (checkpoint / "sources" / "0" / "0").write_text(text)


def test_the_first_batch_counts_from_where_the_source_started(tmp_path) -> None:
    """As Spark 4 writes it: a zero byte, "v1", the offsets (a file of a real checkpoint)."""
    initial(tmp_path, '\0v1\n{"crypto_prices":{"0":7,"1":0,"2":0}}')
    offsets(tmp_path, 0, {"0": 10, "1": 4, "2": 0})
    assert batch_size.messages(tmp_path, 0) == 7


@pytest.mark.parametrize("text", [None, "", "\0v2\n{}", "\0v1\n", "\0v1\nnot json", '\0v1\n{"crypto_prices": 5}'])
def test_the_first_batch_is_not_known_without_a_readable_start(tmp_path, text) -> None:
    if text is not None:
        initial(tmp_path, text)
    offsets(tmp_path, 0, {"0": 10})
    assert batch_size.messages(tmp_path, 0) is None


def test_not_known_for_a_missing_file_or_a_new_partition(tmp_path) -> None:
    offsets(tmp_path, 2, {"0": 12})
    offsets(tmp_path, 3, {"0": 12, "1": 4})
    assert batch_size.messages(tmp_path, 1) is None  # no file 1
    assert batch_size.messages(tmp_path, 3) is None  # partition 1's start is not known


@pytest.mark.parametrize("lines", [("v2", METADATA, "{}"), ("v1", METADATA), ("v1", METADATA, "not json"),
                                   ("v1", METADATA, '{"crypto_prices": [1]}')])
def test_a_file_in_another_format_is_not_known(tmp_path, lines) -> None:
    offsets(tmp_path, 1, {"0": 1})
    write(tmp_path, 2, *lines)
    assert batch_size.messages(tmp_path, 2) is None
