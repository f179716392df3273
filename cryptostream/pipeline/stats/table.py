"""The pipeline_stats table as the programs write it: rows upserted, old minutes pruned (sql/stats.sql)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

import mysql.connector

from cryptostream.core import db
from cryptostream.pipeline.stats.run_stats import Row

PRUNE_LIMIT = 1000  # rows deleted per call: a short statement; called once a minute, ~10 rows arrive a minute

# The statement itself cannot run (no table on a database made before it, no grant, a value out
# of range): MySQL rolls back that statement only, so a transaction around it still commits.
STATEMENT_ERRORS = (mysql.connector.errors.ProgrammingError, mysql.connector.errors.DataError,
                    mysql.connector.errors.IntegrityError, mysql.connector.errors.NotSupportedError)


def upsert(cursor: Any, rows: Iterable[Row]) -> int:
    """Write each (minute, program, run, metric) row whole; a row already there is replaced."""
    rows = list(rows)
    if rows:
        cursor.executemany(db.named_statements("stats")["upsert"], rows)
    return len(rows)


def prune(cursor: Any, oldest_kept: datetime, limit: int = PRUNE_LIMIT) -> int:
    """Delete at most `limit` rows of minutes before `oldest_kept`; how many went."""
    cursor.execute(db.named_statements("stats")["prune"], (oldest_kept, limit))
    return cursor.rowcount
