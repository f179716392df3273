"""One account: a snapshot of MySQL against the part of the topic it covers, from the first
window whose messages retention has kept."""
from __future__ import annotations

import time

from cryptostream.core.config import Config
from cryptostream.ops.reconcile.compare import Account, compare
from cryptostream.ops.reconcile.messages import Message, read_messages
from cryptostream.ops.reconcile.reference import window_start
from cryptostream.ops.reconcile.snapshot import snapshot
from cryptostream.pipeline import topic


def reconcile(config: Config, since_ms: int | None = None, until_ms: int | None = None) -> Account:
    """Read one snapshot of MySQL and the part of the topic it covers; account for every message."""
    state = snapshot(config)
    messages = read_messages(config, below=state.offsets) if state.offsets else []
    expired = {p for p, start in topic.start_offsets(config).items() if start > 0}
    retained = retained_since(config, messages, expired)
    if retained is not None and (since_ms is None or since_ms < retained):
        since_ms = retained
    account = compare(config, messages, state.windows, state.rejects, since_ms, until_ms)
    account.since_ms = since_ms
    return account


def retained_since(config: Config, messages: list[Message], expired: set[int]) -> int | None:
    """The first window start whose messages are all still in Kafka, when retention has
    deleted the oldest messages of the `expired` partitions; None when nothing expired.
    (A partition with nothing retained processed yet: only windows after every message.)"""
    if not expired:
        return None
    firsts = {p: min((m.timestamp_ms for m in messages if m.partition == p), default=None) for p in expired}
    known = [t for t in firsts.values() if t is not None]
    if len(known) < len(expired):
        known.append(max((m.timestamp_ms for m in messages), default=int(time.time() * 1000)))
    window_ms = int(config.processor.window * 1000)
    return window_start(max(known) + int(config.processor.watermark * 1000), window_ms) + window_ms
