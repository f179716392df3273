"""Comparing: the account of the messages against the stored windows and rejects."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from cryptostream.core.config import Config
from cryptostream.ops.reconcile.messages import Message
from cryptostream.ops.reconcile.reference import reference
from cryptostream.ops.reconcile.trade_ids import open_gaps
from cryptostream.pipeline.processor.windows import epoch_ms
from cryptostream.pipeline.schema import Reason, dedup_key, problem

TOLERANCE = Decimal("1e-8")
FIGURES = ("sample_count", "price_sum", "min_price", "max_price", "open_price", "close_price", "volume", "notional")
AVERAGES = ("average_price", "vwap")


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


def compare(config: Config, messages: list[Message], rows: list[dict[str, Any]],
            rejects: dict[tuple[int, int], str], since_ms: int | None = None, until_ms: int | None = None) -> Account:
    """The account of `messages` against the stored `rows` and `rejects`."""
    account = Account(messages=len(messages))
    counted, copies = _sort_messages(config, messages, rejects, account)
    account.problems += _dedup_problems(counted, copies)
    window_ms = int(config.processor.window * 1000)
    expected = {k: v for k, v in reference(counted, window_ms).items() if _within(k[1], since_ms, until_ms)}
    seen = _stored_windows(rows, window_ms, since_ms, until_ms, account)
    account.windows = len(seen)
    account.problems += [f"missing window {key[0]} {key[1]}" for key in sorted(set(expected) - set(seen))]
    account.problems += [f"extra window {key[0]} {seen[key]['start_time']}" for key in sorted(set(seen) - set(expected))]
    for key in sorted(set(seen) & set(expected)):
        account.problems += _figure_problems(key, seen[key], expected[key])
    account.problems += open_gaps(messages, window_ms, since_ms, until_ms)  # exchange -> Kafka
    return account


def _sort_messages(config: Config, messages: list[Message], rejects: dict[tuple[int, int], str],
                   account: Account) -> tuple[list[Message], list[Message]]:
    """(messages counted in a window, messages stored as duplicates); a message stored otherwise
    than the shared rules say is a problem of `account`, a quarantined one counted there."""
    skew_ms = int(config.processor.max_future_skew * 1000)
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
    return counted, copies


def _stored_windows(rows: list[dict[str, Any]], window_ms: int, since_ms: int | None, until_ms: int | None,
                    account: Account) -> dict[tuple[str, int], dict[str, Any]]:
    """The stored rows in range by (symbol, start ms); a repeated or mis-sized window is a problem."""
    seen: dict[tuple[str, int], dict[str, Any]] = {}
    for row in rows:
        key = (row["symbol"], epoch_ms(row["start_time"]))
        if not _within(key[1], since_ms, until_ms):
            continue
        if key in seen:
            account.problems.append(f"duplicate row {key[0]} {row['start_time']}")
        seen[key] = row
        if epoch_ms(row["end_time"]) - key[1] != window_ms:
            account.problems.append(f"{key[0]} {row['start_time']}: window is not {window_ms} ms long")
    return seen


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
