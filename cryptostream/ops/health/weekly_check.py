"""bin/weekly-check: runbook section 4.1 (log review over 7 days) and 4.2 (schema consistency).

4.1  repeated warnings and connection failures from the JSON logs, serialization errors
     (rejected_messages) and slow micro-batches (pipeline_stats: a week outlasts the rotated
     logs) from MySQL, each with a count and an example
4.2  a sample of Kafka messages against the package's message schema; the processor's Spark
     schema against the message schema; the live MySQL tables against sql/schema.sql
"""
from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import Any

from cryptostream.core import config as config_module
from cryptostream.core import events
from cryptostream.core import db
from cryptostream.core.config import Config
from cryptostream.ops import deployment as deployments
from cryptostream.ops.deployment import Deployment
from cryptostream.ops.health.probes.log_events import log_events
from cryptostream.ops.health.probes.pipeline_stats import last_hours
from cryptostream.ops.health.probes.mysql import mysql_query, table_columns
from cryptostream.ops.programs import PIPELINE
from cryptostream.ops.checks import Result, check_parser, fail, ok, report, run_all, warn
from cryptostream.pipeline.schema import FIELDS, SCHEMA_VERSION, SPARK_TYPES, TRADE_FIELDS, problem, spark_schema
from cryptostream.ops import cli
from cryptostream.pipeline import topic
from cryptostream.pipeline.stats import Figure
from cryptostream.pipeline.stats.figure import SECONDS
from cryptostream.pipeline.stats.names import BATCH_DURATION, PROCESSOR

DAYS = 7
HOURS = DAYS * 24
REPEATED = 10  # the same warning this often in a week is worth a look


def week_log(deployment: Deployment) -> list[dict[str, Any]]:
    """The producer's then the processor's events of the week, each in time order."""
    return [e for program in PIPELINE for e in log_events(deployment, program, HOURS)]


def _example(event: dict[str, Any]) -> str:
    detail = event.get("error") or event.get("detail") or event.get("reason") or ""
    return f"{event.get('timestamp', '')[:19]} {event.get('component')} {event.get('event')} {str(detail)[:100]}".strip()


def repeated_warnings(log: list[dict[str, Any]]) -> Result:
    counts = Counter((e.get("component"), e.get("event")) for e in log if e.get("level") in ("warning", "error"))
    frequent = [(key, n) for key, n in counts.most_common() if n >= REPEATED]
    if frequent:
        listed = ", ".join(f"{c}/{e} x{n}" for (c, e), n in frequent[:5])
        return warn("logs", "repeated warnings", f"{listed} in {DAYS} days", dict((f"{c}/{e}", n) for (c, e), n in frequent))
    return ok("logs", "repeated warnings", f"no warning repeated {REPEATED}+ times in {DAYS} days "
                                           f"({sum(counts.values())} warnings in all)")


def errors(log: list[dict[str, Any]]) -> Result:
    """Failures logged at `error` (a program gave up, or data was at risk: events.FAILURE_LEVELS),
    counted by event; warnings by event beside them."""
    by_level = {level: Counter(e.get("event") for e in log if e.get("level") == level) for level in ("error", "warning")}
    warnings = ", ".join(f"{event} x{n}" for event, n in by_level["warning"].most_common(5)) or "none"
    if by_level["error"]:
        listed = ", ".join(f"{event} x{n}" for event, n in by_level["error"].most_common(5))
        last = next(e for e in reversed(log) if e.get("level") == "error")
        return warn("logs", "errors", f"{listed} in {DAYS} days, last {_example(last)}; warnings: {warnings}",
                    dict(by_level["error"]))
    return ok("logs", "errors", f"no error in {DAYS} days; warnings: {warnings}", 0)


def connection_failures(log: list[dict[str, Any]]) -> Result:
    found = [e for e in log if e.get("event") in events.CONNECTION_FAILURES or e.get("error") == "ExchangeUnavailable"]
    if found:
        return warn("logs", "connection failures", f"{len(found)} in {DAYS} days, e.g. {_example(found[-1])}", len(found))
    return ok("logs", "connection failures", f"none in {DAYS} days", 0)


def serialization_errors(config: Config) -> Result:
    rows = mysql_query(config, "rejected_by_reason", (HOURS,))
    total = sum(n for _, n in rows)
    if total:
        by_reason = ", ".join(f"{reason} x{n}" for reason, n in sorted(rows, key=lambda r: -r[1]))
        return warn("logs", "serialization errors", f"{total} messages rejected in {DAYS} days: {by_reason}",
                    dict(rows))
    return ok("logs", "serialization errors", f"no message rejected in {DAYS} days", 0)


def slow_batches(config: Config) -> Result:
    """Micro-batches (after each run's warm-up) over checks.batch_p95_warn in the week, from the
    processor's per-minute statistics: a week of batch lines outlasts the rotated logs."""
    stats = last_hours(config, HOURS, (BATCH_DURATION,))
    return slow_batch_row(stats.figure(PROCESSOR, BATCH_DURATION), stats.peak(PROCESSOR, BATCH_DURATION),
                          config.checks.batch_p95_warn)


def slow_batch_row(durations: Figure, peak: datetime | None, limit: float) -> Result:
    """Counted from the duration buckets: exact when the limit is a bucket edge (5 s, 30 s are);
    otherwise the bucket around the limit is named as possibly over it."""
    certain, possible = durations.count_above(limit, SECONDS)
    if not certain and durations.maximum is not None and durations.maximum > limit:
        certain, possible = 1, possible - 1  # the slowest one is over it, though its bucket straddles the limit
    batches = f"{durations.samples} micro-batches"
    if not certain:
        return ok("logs", "slow micro-batches", f"none over {limit:g}s in {DAYS} days ({batches})", 0)
    maybe = f" (+{possible} possibly, in the bucket around {limit:g}s)" if possible else ""
    return warn("logs", "slow micro-batches", f"{certain}{maybe} of {batches} over {limit:g}s in {DAYS} days, "
                                              f"slowest {durations.maximum:.1f}s (minute {peak:%Y-%m-%d %H:%M} UTC)",
                certain)


def kafka_messages(config: Config, per_partition: int) -> Result:
    sample = topic.newest_messages(config, per_partition)
    skew_ms = int(config.processor.max_future_skew * 1000)
    bad = [(p, o, problem(v, config.exchange.symbols, skew_ms, t)) for p, o, v, t in sample]
    bad = [b for b in bad if b[2]]
    if bad:
        reasons = Counter(reason for *_, reason in bad)
        partition, offset, reason = bad[0]
        return fail("schema", "kafka messages", f"{len(bad)} of {len(sample)} sampled messages break the schema "
                                                f"({dict(reasons)}), e.g. partition {partition} offset {offset}: {reason}",
                    len(bad))
    return ok("schema", "kafka messages", f"{len(sample)} newest messages valid (schema v1-v{SCHEMA_VERSION})", len(sample))


def spark_matches_message_schema() -> Result:
    fields = {f.name: type(f.dataType).__name__ for f in spark_schema().fields}
    if list(fields) != [*FIELDS, *TRADE_FIELDS] or fields != SPARK_TYPES:
        return fail("schema", "spark schema", f"processor reads {fields}, the message schema is "
                                              f"{[*FIELDS, *TRADE_FIELDS]}")
    return ok("schema", "spark schema", f"processor schema = message schema ({len(fields)} fields)")


_COLUMN = re.compile(r"^\s{4}(\w+)\s+([A-Z]+(?:\(\d+(?:,\d+)?\))?)", re.MULTILINE)
_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\) ENGINE", re.DOTALL)


def declared_columns() -> dict[str, dict[str, str]]:
    """Columns and types as sql/schema.sql declares them."""
    text = (db.SQL_DIR / "schema.sql").read_text()
    return {table: {name: _normalise(kind) for name, kind in _COLUMN.findall(body) if name not in ("PRIMARY", "UNIQUE", "KEY")}
            for table, body in _TABLE.findall(text)}


def _normalise(kind: str) -> str:
    """MariaDB shows int display widths (bigint(20)), MySQL 8 does not."""
    return re.sub(r"^(tinyint|smallint|int|bigint)\(\d+\)", r"\1", kind.lower())


def mysql_matches_sql(config: Config) -> Result:
    live = {t: {c: _normalise(k) for c, k in cols.items()} for t, cols in table_columns(config).items()}
    differences = []
    for table, columns in declared_columns().items():
        if table not in live:
            differences.append(f"{table} missing")
            continue
        for name, kind in columns.items():
            if live[table].get(name) != kind:
                differences.append(f"{table}.{name}: {live[table].get(name, 'missing')} != {kind}")
    if differences:
        return fail("schema", "mysql tables", "; ".join(differences[:5]), len(differences))
    return ok("schema", "mysql tables", f"{len(declared_columns())} tables match sql/schema.sql")


@cli.command(cli.UNKNOWN)
def main(argv: list[str] | None = None) -> int:
    parser = check_parser("weekly-check", "Runbook section 4.1 and 4.2.")
    parser.add_argument("--sample", type=int, default=200, help="newest messages per partition to validate")
    args = parser.parse_args(argv)
    config = config_module.load()
    log = week_log(deployments.choose(config, args.deployment))
    return report(run_all([
        ("logs", "repeated warnings", lambda: repeated_warnings(log)),
        ("logs", "errors", lambda: errors(log)),
        ("logs", "connection failures", lambda: connection_failures(log)),
        ("logs", "serialization errors", lambda: serialization_errors(config)),
        ("logs", "slow micro-batches", lambda: slow_batches(config)),
        ("schema", "kafka messages", lambda: kafka_messages(config, args.sample)),
        ("schema", "spark schema", spark_matches_message_schema),
        ("schema", "mysql tables", lambda: mysql_matches_sql(config)),
    ]), args.json)
