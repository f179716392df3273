"""Reading MySQL for the account: progress, windows and rejects from one consistent read, and
waiting until the processor has applied given offsets."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable

from cryptostream.core import db
from cryptostream.core.config import Config
from cryptostream.core.polling import wait_for


@dataclass
class Snapshot:
    """What MySQL held at one instant: the sink commits all three together."""
    offsets: dict[int, int]
    windows: list[dict[str, Any]]
    rejects: dict[tuple[int, int], str]


def snapshot(config: Config) -> Snapshot:
    """Progress, windows and rejects from one consistent read, so a live stack can be reconciled."""
    statements = db.named_statements("reconcile")
    connection = db.connect(config)
    try:
        connection.start_transaction(consistent_snapshot=True, isolation_level="REPEATABLE READ")
        with connection.cursor(dictionary=True) as cursor:
            cursor.execute(db.named_statements("sink")["read_progress"], (config.processor.query_name,))
            progress = cursor.fetchone()
            cursor.execute(statements["windows"])
            windows = cursor.fetchall()
            cursor.execute(statements["rejects"], (config.kafka.topic,))
            rejects = {(r["kafka_partition"], r["kafka_offset"]): r["reason"] for r in cursor.fetchall()}
        connection.rollback()
    finally:
        connection.close()
    offsets = json.loads(progress["offsets"]).get(config.kafka.topic, {}) if progress else {}
    return Snapshot({int(p): int(o) for p, o in offsets.items()}, windows, rejects)


def processed_offsets(config: Config) -> dict[int, int]:
    """Per partition, the next offset the processor will read (what it has applied is below)."""
    return snapshot(config).offsets


def wait_processed(config: Config, ends: dict[int, int], timeout: float, interval: float = 1.0,
                   alive: Callable[[], bool] = lambda: True) -> float:
    """Seconds until the processor has applied every offset below `ends`; TimeoutError after
    `timeout`, RuntimeError as soon as `alive()` says the processor is gone."""
    started, done = time.monotonic(), {}

    def reached() -> bool:
        nonlocal done
        done = processed_offsets(config)
        if all(done.get(p, 0) >= end for p, end in ends.items()):
            return True
        if not alive():
            raise RuntimeError("the processor exited before it reached the end of the topic")
        return False
    wait_for("the processor", reached, timeout, interval, retry=(),
             timed_out=lambda _: f"the processor did not reach {ends} within {timeout:.0f}s; it is at {done}")
    return round(time.monotonic() - started, 1)
