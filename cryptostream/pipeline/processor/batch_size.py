"""How many messages a micro-batch holds, known before Spark reads them: its end offsets less
the previous batch's, from the checkpoint's offsets log (Spark writes a batch's offsets
before it runs the batch, and keeps the last 100)."""
from __future__ import annotations

import json
from pathlib import Path


def messages(checkpoint: Path, batch_id: int) -> int | None:
    """None when not known: the checkpoint's first batch, a partition the previous batch did
    not have, a file missing or in a format other than Spark's v1."""
    if batch_id <= 0:
        return None
    end, start = _offsets(checkpoint, batch_id), _offsets(checkpoint, batch_id - 1)
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
        found = json.loads(lines[2]) if len(lines) == 3 and lines[0] == "v1" else None
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) and all(isinstance(v, dict) for v in found.values()) else None
