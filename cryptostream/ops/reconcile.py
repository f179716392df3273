"""bin/reconcile: account for every message in Kafka against MySQL.

Every message the processor has read (offsets below its committed position) must be either
in exactly one window row, with the row's figures equal to a recomputation from the
messages, or in rejected_messages with its reason: the reason the shared rules give for an
invalid message, "late" for a valid one that arrived after its window was closed, or
"duplicate" for a copy of a price (schema.dedup_key) counted once from another delivery.
Exit 0 only on an exact account (averages within 1e-8), 2 otherwise.

Once retention has deleted a topic's oldest messages, windows that may have held them cannot
be recomputed: only windows starting after the oldest retained message (plus the watermark
delay) are compared, and the output says from when.
"""
from __future__ import annotations

import argparse
import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Iterable

from kafka import KafkaConsumer, TopicPartition

from cryptostream.core import config as config_module
from cryptostream.core import db
from cryptostream.core.config import Config
from cryptostream.core.polling import wait_for
from cryptostream.pipeline.schema import Reason, dedup_key, fields, problem
from cryptostream.ops import cli
from cryptostream.pipeline import topic

TOLERANCE = Decimal("1e-8")
FIGURES = ("sample_count", "price_sum", "min_price", "max_price", "open_price", "close_price", "volume", "notional")
AVERAGES = ("average_price", "vwap")


@dataclass(frozen=True)
class Message:
    partition: int
    offset: int
    value: bytes
    timestamp_ms: int

    @property
    def body(self) -> dict[str, Any]:
        """The schema fields as the processor reads them (schema.fields: no recursion, so
        deep nesting cannot crash the account)."""
        return fields(self.value)


@dataclass
class Account:
    messages: int = 0
    windows: int = 0
    quarantined: int = 0  # messages of batches MySQL would not take, stored by position only
    problems: list[str] = field(default_factory=list)
    since_ms: int | None = None  # windows starting earlier were not compared

    @property
    def exact(self) -> bool:
        return not self.problems


def read_messages(config: Config, below: dict[int, int] | None = None) -> list[Message]:
    """Every message in the topic, or only those below the given offset per partition."""
    consumer = KafkaConsumer(bootstrap_servers=config.kafka.bootstrap_servers, enable_auto_commit=False,
                             consumer_timeout_ms=5_000)
    try:
        partitions = [TopicPartition(config.kafka.topic, p)
                      for p in sorted(consumer.partitions_for_topic(config.kafka.topic) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        stop = {tp: min(ends[tp], (below or {}).get(tp.partition, ends[tp])) for tp in partitions}
        messages: list[Message] = []
        while any(consumer.position(tp) < stop[tp] for tp in partitions):
            batch = consumer.poll(timeout_ms=2_000)
            if not batch:
                break
            for tp, records in batch.items():
                messages += [Message(r.partition, r.offset, r.value, r.timestamp) for r in records if r.offset < stop[tp]]
        return messages
    finally:
        consumer.close()


def window_start(event_ms: int, window_ms: int) -> int:
    return event_ms - event_ms % window_ms


def reference(messages: Iterable[Message], window_ms: int) -> dict[tuple[str, int], dict[str, Any]]:
    """Per (symbol, window start ms) the figures MySQL must hold; open/close by (event time,
    partition, offset), the processor's order."""
    windows: dict[tuple[str, int], list[tuple[int, int, int, Decimal, Decimal | None]]] = {}
    for m in messages:
        body = m.body
        key = (body["symbol"], window_start(body["event_time"], window_ms))
        quantity = Decimal(str(body["quantity"])) if body.get("quantity") is not None else None
        windows.setdefault(key, []).append((body["event_time"], m.partition, m.offset, Decimal(str(body["price"])),
                                            quantity))
    figures = {}
    for key, rows in windows.items():
        rows.sort(key=lambda r: r[:3])
        prices = [r[3] for r in rows]
        trades = [(r[3], r[4]) for r in rows if r[4] is not None]
        volume = sum(q for _, q in trades) if trades else None
        notional = sum(p * q for p, q in trades) if trades else None
        figures[key] = {"sample_count": len(prices), "price_sum": sum(prices), "min_price": min(prices),
                        "max_price": max(prices), "open_price": prices[0], "close_price": prices[-1],
                        "average_price": sum(prices) / len(prices), "volume": volume, "notional": notional,
                        "vwap": notional / volume if volume else None}
    return figures


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


def _epoch_ms(naive_utc: datetime) -> int:
    return int(naive_utc.replace(tzinfo=timezone.utc).timestamp() * 1000)


def compare(config: Config, messages: list[Message], rows: list[dict[str, Any]],
            rejects: dict[tuple[int, int], str], since_ms: int | None = None, until_ms: int | None = None) -> Account:
    """The account of `messages` against the stored `rows` and `rejects`."""
    window_ms = int(config.processor.window * 1000)
    skew_ms = int(config.processor.max_future_skew * 1000)
    account = Account(messages=len(messages))
    counted, copies = [], []
    for m in messages:
        reason = problem(m.value, config.exchange.symbols, skew_ms, m.timestamp_ms)
        stored = rejects.get((m.partition, m.offset))
        if stored == Reason.QUARANTINED:  # accounted for by position; in no window
            account.quarantined += 1
        elif reason is not None and stored != reason:
            account.problems.append(f"message {m.partition}/{m.offset}: {reason}, but stored as {stored or 'nothing'}")
        elif reason is None and stored not in (None, Reason.LATE, Reason.DUPLICATE):
            account.problems.append(f"message {m.partition}/{m.offset}: valid, but rejected as {stored}")
        elif reason is None and stored is None:
            counted.append(m)
        elif stored == Reason.DUPLICATE:
            copies.append(m)
    account.problems += _dedup_problems(counted, copies)
    expected = reference(counted, window_ms)
    in_range = {k: v for k, v in expected.items() if _within(k[1], since_ms, until_ms)}
    seen: dict[tuple[str, int], dict[str, Any]] = {}
    for row in rows:
        key = (row["symbol"], _epoch_ms(row["start_time"]))
        if not _within(key[1], since_ms, until_ms):
            continue
        if key in seen:
            account.problems.append(f"duplicate row {key[0]} {row['start_time']}")
        seen[key] = row
        if _epoch_ms(row["end_time"]) - key[1] != window_ms:
            account.problems.append(f"{key[0]} {row['start_time']}: window is not {window_ms} ms long")
    account.windows = len(seen)
    for key in sorted(set(in_range) - set(seen)):
        account.problems.append(f"missing window {key[0]} {key[1]}")
    for key in sorted(set(seen) - set(in_range)):
        account.problems.append(f"extra window {key[0]} {seen[key]['start_time']}")
    for key in sorted(set(seen) & set(in_range)):
        account.problems += _figure_problems(key, seen[key], in_range[key])
    return account


def _dedup_problems(counted: list[Message], copies: list[Message]) -> list[str]:
    """Each price (dedup key) counted at most once; each "duplicate" a copy of a counted one."""
    first: dict[tuple, Message] = {}
    problems = []
    for m in counted:
        key = dedup_key(m.body)
        if key in first:
            problems.append(f"message {m.partition}/{m.offset}: counted twice (also {first[key].partition}/"
                            f"{first[key].offset}, key {key})")
        first.setdefault(key, m)
    problems += [f"message {m.partition}/{m.offset}: rejected as duplicate, but no copy of it was counted"
                 for m in copies if dedup_key(m.body) not in first]
    return problems


def _within(start_ms: int, since_ms: int | None, until_ms: int | None) -> bool:
    return (since_ms is None or start_ms >= since_ms) and (until_ms is None or start_ms < until_ms)


def _figure_problems(key: tuple[str, int], row: dict[str, Any], want: dict[str, Any]) -> list[str]:
    problems = [f"{key[0]} {key[1]}: {name} {row.get(name)} != {want[name]}" for name in FIGURES
                if row.get(name) != want[name]]
    for name in AVERAGES:
        stored, expected = row.get(name), want[name]
        if (stored is None) != (expected is None) or (expected is not None and abs(stored - expected) > TOLERANCE):
            problems.append(f"{key[0]} {key[1]}: {name} {stored} != {expected}")
    return problems


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


_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_AGO_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def time_ms(text: str, now: float | None = None) -> int:
    """--since/--until: an ISO-8601 time (a naive one is UTC) or how long ago (90s, 30m, 2h, 1d),
    as epoch milliseconds; argparse turns the ArgumentTypeError into a one-line usage error."""
    ago = _AGO.match(text)
    if ago:
        seconds = float(ago.group(1)) * _AGO_SECONDS[ago.group(2)]
        return int(((time.time() if now is None else now) - seconds) * 1000)
    try:
        stamp = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO-8601 time such as 2026-12-01T10:00:00Z (without a zone: UTC) or a time ago "
            f"such as 90s, 30m, 2h, 1d; got {text!r}") from None
    return int((stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)).timestamp() * 1000)


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="seconds")


@cli.command()
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reconcile", description="Account for every Kafka message in MySQL.")
    parser.add_argument("--since", type=time_ms, metavar="TIME",
                        help="only windows starting at or after TIME: ISO-8601 (naive = UTC) or ago (2h, 30m, 90s, 1d)")
    parser.add_argument("--until", type=time_ms, metavar="TIME", help="only windows starting before TIME (same forms)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    if args.since is not None and args.until is not None and args.since >= args.until:
        parser.error(f"--since ({_iso(args.since)}) must be before --until ({_iso(args.until)})")
    account = reconcile(config_module.load(), args.since, args.until)
    if args.json:
        print(json.dumps({"exact": account.exact, "messages": account.messages, "windows": account.windows,
                          "quarantined": account.quarantined,
                          "since": _iso(account.since_ms), "problems": account.problems}, indent=2))
    else:
        since = f" (windows from {_iso(account.since_ms)})" if account.since_ms is not None else ""
        quarantined = f", {account.quarantined} quarantined" if account.quarantined else ""
        print(f"{account.messages} messages, {account.windows} windows{since}{quarantined}: "
              f"{'exact' if account.exact else f'{len(account.problems)} problems'}")
        for line in account.problems[:50]:
            print(f"  {line}")
    return 0 if account.exact else 2
