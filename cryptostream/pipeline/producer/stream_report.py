"""The trade stream's counters and its log lines: one `stream` line per second of what came
and went, one `stopped` line with the totals."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from cryptostream.core import events

REPORT_INTERVAL = 1.0
log = structlog.get_logger("producer")


@dataclass
class StreamCounters:
    received: int = 0  # stream messages, valid or not
    published: int = 0  # acknowledged by Kafka
    duplicates: int = 0  # trades skipped because their id was published already
    invalid: int = 0
    connects: int = 0
    connect_failures: int = 0
    disconnects: int = 0
    renewals: int = 0
    backfilled: int = 0
    backfill_requests: int = 0
    missed: int = 0  # gaps (ids) the backfill could not fetch
    live_gaps: int = 0  # jumps of trade ids on an open connection (repaired like a reconnect's gap)


def log_stream(recent: StreamCounters, totals: StreamCounters, publisher: Any, conn: Any) -> None:
    """The `stream` line: counts since the last line (`recent`), the connection, and totals."""
    log.info(events.STREAM, received=recent.received, published=recent.published, duplicates=recent.duplicates,
             invalid=recent.invalid, backfilled=recent.backfilled, pending=publisher.backlog,
             connection=conn.id if conn else None, connection_age_s=round(conn.age, 1) if conn else None,
             pings_answered=len(conn.pings_answered) if conn else None,
             published_total=publisher.published, dropped_total=publisher.dropped,
             disconnects_total=totals.disconnects, renewals_total=totals.renewals,
             backfilled_total=totals.backfilled, live_gaps_total=totals.live_gaps)


def log_stopped(totals: StreamCounters, publisher: Any) -> None:
    log.info(events.STOPPED, published_total=publisher.published, pending=publisher.backlog,
             received_total=totals.received, disconnects_total=totals.disconnects,
             renewals_total=totals.renewals, backfilled_total=totals.backfilled,
             missed_total=totals.missed)
