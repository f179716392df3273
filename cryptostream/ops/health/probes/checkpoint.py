"""The processor's position in Kafka, from the Spark checkpoint."""
from __future__ import annotations

import json

from cryptostream.core.config import Config


def checkpoint_offsets(config: Config) -> tuple[int, dict[int, int]] | None:
    """(batch id, offsets per partition) of the newest batch Spark has committed, from the
    checkpoint's offsets/ and commits/ logs; None before the first batch.

    Spark commits no consumer-group offsets, so this is where the processor's position lives."""
    folder = config.checkpoint_dir
    committed = sorted((int(p.name) for p in (folder / "commits").glob("[0-9]*")), reverse=True)
    for batch in committed:
        path = folder / "offsets" / str(batch)
        if path.exists():
            lines = path.read_text().splitlines()
            offsets = json.loads(lines[-1]).get(config.kafka.topic, {})
            return batch, {int(p): int(o) for p, o in offsets.items()}
    return None
