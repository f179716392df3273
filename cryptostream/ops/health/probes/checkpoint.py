"""The processor's position in Kafka, from the Spark checkpoint (read through the deployment:
a folder here, or a volume inside the app container)."""
from __future__ import annotations

import json

from cryptostream.ops.deployment.base import Deployment


def checkpoint_offsets(deployment: Deployment) -> tuple[int, dict[int, int]] | None:
    """(batch id, offsets per partition) of the newest batch Spark has committed, from the
    checkpoint's offsets/ and commits/ logs; None before the first batch.

    Spark commits no consumer-group offsets, so this is where the processor's position lives."""
    for batch in sorted(deployment.checkpoint_batches("commits"), reverse=True):
        text = deployment.checkpoint_text(f"offsets/{batch}")
        if text is not None:
            offsets = json.loads(text.splitlines()[-1]).get(deployment.config.kafka.topic, {})
            return batch, {int(p): int(o) for p, o in offsets.items()}
    return None
