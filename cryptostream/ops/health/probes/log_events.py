"""The programs' JSON log events: read by time, picked by name (cryptostream.core.events). The
lines come from the deployment (log files here, or the app container's output)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Collection, Iterable, Iterator

from cryptostream.core import events
from cryptostream.ops.deployment.base import Deployment
from cryptostream.pipeline.stats.names import WARM_UP_BATCHES  # as the processor's statistics count them


def log_events(deployment: Deployment, program: str, hours: float) -> Iterator[dict[str, Any]]:
    """The program's JSON log events of the last `hours`, oldest first; other lines skipped."""
    return events_in(deployment.log_lines(program, hours), hours)


def events_in(lines: Iterable[str], hours: float) -> Iterator[dict[str, Any]]:
    """The JSON events among `lines` logged in the last `hours`."""
    since = datetime.now(timezone.utc) - timedelta(hours=hours)
    for line in lines:
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


def events_named(deployment: Deployment, program: str, names: Collection[str], hours: float) -> list[dict[str, Any]]:
    """The program's log events of the last `hours` called one of `names` (cryptostream.core.events)."""
    return [event for event in log_events(deployment, program, hours) if event.get("event") in names]


def newest_event(deployment: Deployment, program: str, name: str, hours: float) -> dict[str, Any] | None:
    """The program's newest log event called `name` in the last `hours`; None if there is none."""
    found = events_named(deployment, program, {name}, hours)
    return found[-1] if found else None


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
