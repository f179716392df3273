"""How many messages a micro-batch holds, known before Spark reads them: its end offsets less
the previous batch's, from the checkpoint's offsets log (Spark writes a batch's offsets
before it runs the batch, and keeps the last 100); for the first batch, less the offsets the
Kafka source started from (the checkpoint's sources/0/0)."""
from __future__ import annotations

import json
from pathlib import Path


def messages(checkpoint: Path, batch_id: int) -> int | None:
    """None when not known: a partition the batch before did not have, a file missing or in a
    format other than Spark's v1."""
    if batch_id < 0:
        return None
    end = _offsets(checkpoint, batch_id)
    start = _offsets(checkpoint, batch_id - 1) if batch_id > 0 else _initial_offsets(checkpoint)
    if end is None or start is None:
        return None
    total = 0
    for topic, partitions in end.items():
        for partition, offset in partitions.items():
            before = start.get(topic, {}).get(partition)
            if not isinstance(before, int) or not isinstance(offset, int):
                return None
            total += offset - before
    return total


def _offsets(checkpoint: Path, batch_id: int) -> dict | None:
    """{topic: {partition: offset}} of the batch's end, from "v1", the batch's metadata and
    one line per source (the processor has one)."""
    try:
        lines = (checkpoint / "offsets" / str(batch_id)).read_text().splitlines()
    except OSError:
        return None
    return _topics(lines[2]) if len(lines) == 3 and lines[0] == "v1" else None


def _initial_offsets(checkpoint: Path) -> dict | None:
    """Where the Kafka source started: a zero byte (kept by Spark for old readers), "v1" and
    the offsets, resolved to numbers when the query was created."""
    try:
        lines = (checkpoint / "sources" / "0" / "0").read_text().lstrip("\0").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return _topics(lines[1]) if len(lines) == 2 and lines[0] == "v1" else None


def _topics(text: str) -> dict | None:
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) and all(isinstance(v, dict) for v in found.values()) else None
