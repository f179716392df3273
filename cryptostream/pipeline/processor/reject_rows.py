"""Rejected messages as rows of rejected_messages, in chunks one INSERT can carry."""
from __future__ import annotations

from typing import Any, Iterable

from cryptostream.pipeline.processor.windows import utc
from cryptostream.pipeline.schema import TIME_LIMIT_MS  # a Kafka record time outside [0, it) is stored as NULL

# Rejects go to MySQL in chunks of at most this many rows and bytes of raw values: one
# multi-row INSERT stays far below max_allowed_packet (16 MiB on MariaDB) however many a
# batch has. Each raw value is at most classify.VALUE_PREFIX bytes.
REJECT_CHUNK_ROWS = 500
REJECT_CHUNK_BYTES = 1 << 20


def reject_params(r: dict[str, Any]) -> tuple:
    """A reject as insert_rejected's parameters; key and value may be absent (a batch stored
    without them, or quarantined)."""
    stamp = r.get("record_ms")
    kafka_time = utc(stamp) if stamp is not None and 0 <= stamp < TIME_LIMIT_MS else None
    return (r["topic"], r["partition"], r["offset"], kafka_time, _bytes(r.get("key")), _bytes(r.get("value")),
            r.get("value_length"), r.get("value_sha256"), r["reason"])


def _bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def reject_chunks(params: list[tuple], rows: int = REJECT_CHUNK_ROWS,
                  size: int = REJECT_CHUNK_BYTES) -> Iterable[list[tuple]]:
    """`params` in consecutive chunks of at most `rows` rows and about `size` bytes of key
    and value (a single larger row still goes alone)."""
    chunk: list[tuple] = []
    used = 0
    for row in params:
        weight = len(row[4] or b"") + len(row[5] or b"")
        if chunk and (len(chunk) >= rows or used + weight > size):
            yield chunk
            chunk, used = [], 0
        chunk.append(row)
        used += weight
    if chunk:
        yield chunk
