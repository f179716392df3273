"""Facts the runbook checks read: Kafka offsets, the Spark checkpoint, supervisord, JSON logs,
MySQL. Each function reads one source and returns plain data."""
from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Collection, Iterator


from cryptostream.core import db, events
from cryptostream.core.config import Config
from cryptostream.ops import supervisor
from cryptostream.ops.cli import require_supervisord


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


def program_states(config: Config) -> dict[str, dict[str, Any]]:
    """supervisord's view of each program, by bare name."""
    require_supervisord(config)
    return {info["name"]: info for info in supervisor.process_info(config)}


_UNEXPECTED_EXIT = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ \w+ exited: ([\w-]+) .*not expected")


def unexpected_exits(config: Config, hours: float = 24) -> dict[str, int]:
    """How often each program died unexpectedly (supervisord then restarts it) in the last
    `hours`; stops asked for by an operator do not count. supervisord logs local time."""
    since = datetime.now() - timedelta(hours=hours)
    counts: dict[str, int] = {}
    for path in _log_files(config, "supervisord"):
        for line in path.read_text(errors="replace").splitlines():
            match = _UNEXPECTED_EXIT.match(line)
            if match and datetime.fromisoformat(match.group(1)) >= since:
                counts[match.group(2)] = counts.get(match.group(2), 0) + 1
    return counts


def log_events(config: Config, program: str, hours: float) -> Iterator[dict[str, Any]]:
    """The program's JSON log events of the last `hours`, oldest file first; other lines skipped."""
    since = datetime.now(timezone.utc) - timedelta(hours=hours)
    for path in _log_files(config, program):
        for line in path.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            try:
                event = json.loads(line)
                stamp = time_of(event)
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
            if stamp >= since:
                yield event


def time_of(event: dict[str, Any]) -> datetime:
    """When a JSON log event was logged (its ISO-8601 UTC `timestamp`)."""
    return datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))


def events_named(config: Config, program: str, names: Collection[str], hours: float) -> list[dict[str, Any]]:
    """The program's log events of the last `hours` called one of `names` (cryptostream.core.events)."""
    return [event for event in log_events(config, program, hours) if event.get("event") in names]


def newest_event(config: Config, program: str, name: str, hours: float) -> dict[str, Any] | None:
    """The program's newest log event called `name` in the last `hours`; None if there is none."""
    found = events_named(config, program, {name}, hours)
    return found[-1] if found else None


WARM_UP_BATCHES = 3  # the first batches of a run include JVM and connector start-up


def warm_batches(log: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The processor's per-batch events, leaving out each run's warm-up batches."""
    since_start = 0
    for event in log:
        if event.get("event") == events.QUERY_STARTED:
            since_start = 0
        elif event.get("event") == events.BATCH and event.get("duration_ms") is not None:
            since_start += 1
            if since_start > WARM_UP_BATCHES:
                yield event


def _log_files(config: Config, program: str) -> list[Path]:
    folder = config.var_dir / "log"
    rotated = sorted((p for p in folder.glob(f"{program}.log.*") if p.suffix[1:].isdigit()),
                     key=lambda p: int(p.suffix[1:]), reverse=True)  # .5 is the oldest
    current = folder / f"{program}.log"
    return [*rotated, *([current] if current.exists() else [])]


def mysql_query(config: Config, name: str, params: tuple = ()) -> list[tuple]:
    """One named statement of sql/checks.sql, as the application user."""
    connection = db.connect(config, timeout=5)
    try:
        with connection.cursor() as cursor:
            cursor.execute(db.named_statements("checks")[name], params)
            return cursor.fetchall()
    finally:
        connection.close()


def process_tree_usage(pid: int) -> tuple[int, float]:
    """(RSS bytes, CPU seconds) of a process and its descendants, from /proc."""
    rss, cpu, pending = 0, 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            rss += int(stat[21]) * os.sysconf("SC_PAGE_SIZE")
            cpu += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (OSError, IndexError):
            continue
        pending += [int(child) for child in children]
    return rss, cpu


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def table_columns(config: Config) -> dict[str, dict[str, str]]:
    """The live tables' columns and types, from information_schema."""
    tables: dict[str, dict[str, str]] = {}
    for table, column, kind in mysql_query(config, "table_columns", (config.mysql.database,)):
        tables.setdefault(table, {})[column] = kind.decode() if isinstance(kind, bytes) else kind
    return tables
