"""bin/daily-check: runbook section 3, every daily task as a check with a status and a reason.

3.1 Kafka     broker reachable, topic with the expected partitions, no abnormal restarts
3.2 Spark     processor running, last micro-batch recent, batch duration p95, lag from the
              checkpoint, MySQL writes occurring
3.3 Producer  running, API failures and rate limits in 24 h, messages published recently, configured
              symbols left out because the exchange does not list them or they are not TRADING
3.4 MySQL     new rows recently, no duplicate windows, no corrupted rows, timestamps sane, and
              bin/reconcile's exact account of every message still in Kafka
"""
from __future__ import annotations

import argparse
from collections import Counter
from datetime import datetime, timezone
from typing import Callable

from cryptostream.core import config as config_module
from cryptostream.core import events
from cryptostream.core.config import Config
from cryptostream.ops.health.percentile import percentile
from cryptostream.ops.health.probes.checkpoint import checkpoint_offsets
from cryptostream.ops.health.probes.log_events import events_named, log_events, newest_event, time_of, warm_batches
from cryptostream.ops.health.probes.mysql import mysql_query
from cryptostream.ops.health.probes.supervisord import program_states, unexpected_exits
from cryptostream.ops.checks import Result, fail, ok, report, run_all, warn
from cryptostream.ops.reconcile import reconcile
from cryptostream.ops import cli
from cryptostream.pipeline import topic


class DailyCheck:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.limits = config.checks
        self._ends: dict[int, int] | None = None
        self._states: dict | None = None

    # --- shared facts, read once per run ---

    def ends(self) -> dict[int, int]:
        if self._ends is None:
            self._ends = topic.end_offsets(self.config)
        return self._ends

    def states(self) -> dict:
        if self._states is None:
            self._states = program_states(self.config)
        return self._states

    # --- 3.1 Kafka ---

    def kafka_topic(self) -> Result:
        ends, expected = self.ends(), self.config.kafka.partitions
        detail = f"topic {self.config.kafka.topic}: {len(ends)} partitions, {sum(ends.values())} messages"
        if len(ends) != expected:
            return warn("kafka", "topic", f"{detail}; expected {expected} partitions", len(ends))
        return ok("kafka", "topic", detail, len(ends))

    def restarts(self, component: str, program: str) -> Result:
        exits = unexpected_exits(self.config).get(program, 0)
        detail = f"{program} died unexpectedly {exits} time(s) in 24 h (supervisord restarted it)"
        if exits > self.limits.restarts_warn:
            return warn(component, "restarts", f"{detail}: abnormal, > {self.limits.restarts_warn}", exits)
        return ok(component, "restarts", detail, exits)

    def running(self, component: str, program: str) -> Result:
        info = self.states().get(program)
        if info is None:
            return fail(component, "running", f"{program} is not a supervisord program here")
        if info["statename"] != "RUNNING":
            return fail(component, "running", f"{program} is {info['statename']}", info["statename"])
        return ok(component, "running", f"{program} RUNNING ({info['description']})", info["statename"])

    # --- 3.2 Spark ---

    def last_batch(self) -> Result:
        rows = mysql_query(self.config, "progress", (self.config.processor.query_name,))
        if not rows:
            return warn("spark", "last batch", "no micro-batch applied yet")
        batch_id, _watermark, _offsets, age = rows[0]
        age = float(age)
        detail = f"batch {batch_id} applied {age:.0f}s ago"
        if age > self.limits.freshness:
            return warn("spark", "last batch", f"{detail} (older than {self.limits.freshness:g}s)", age)
        return ok("spark", "last batch", detail, age)

    def batch_duration(self) -> Result:
        durations = [e["duration_ms"] / 1000 for e in warm_batches(log_events(self.config, "processor", 0.25))]
        p95 = percentile(durations, 0.95)
        if p95 is None:
            return warn("spark", "batch duration", "no micro-batch in the last 15 min")
        detail = f"p95 {p95:.2f}s over {len(durations)} batches (15 min)"
        if p95 > self.limits.batch_p95_fail:
            return fail("spark", "batch duration", f"{detail} > {self.limits.batch_p95_fail:g}s", p95)
        if p95 > self.limits.batch_p95_warn:
            return warn("spark", "batch duration", f"{detail} > {self.limits.batch_p95_warn:g}s", p95)
        return ok("spark", "batch duration", detail, p95)

    def lag(self) -> Result:
        checkpoint = checkpoint_offsets(self.config)
        done = checkpoint[1] if checkpoint else {}
        lag = sum(max(0, end - done.get(p, 0)) for p, end in self.ends().items())
        detail = f"{lag} messages behind (topic end offsets minus checkpoint" + \
            (f" batch {checkpoint[0]})" if checkpoint else ", no batch committed)")
        if lag > self.limits.lag_fail:
            return fail("spark", "lag", detail, lag)
        if lag > self.limits.lag_warn:
            return warn("spark", "lag", detail, lag)
        return ok("spark", "lag", detail, lag)

    # --- 3.3 Producer ---

    def api_health(self) -> Result:
        if self.config.exchange.source == "websocket":
            return self.stream_health()
        polls = events_named(self.config, "producer", {events.POLL}, 24)
        limited = sum(1 for e in polls if e.get("error") == "rate_limited")
        failed = sum(1 for e in polls if e.get("error") and e.get("error") != "rate_limited")
        rate = (limited + failed) / len(polls) if polls else 0.0
        detail = f"{len(polls)} requests, {failed} failed, {limited} rate-limited (429/418) in 24 h"
        if not polls:
            return warn("producer", "api", "no exchange requests logged in 24 h")
        if rate >= self.limits.api_failure_rate_fail:
            return fail("producer", "api", f"{detail}: failure rate {rate:.0%}", rate)
        if limited or rate >= self.limits.api_failure_rate_warn:
            return warn("producer", "api", f"{detail}: failure rate {rate:.0%}", rate)
        return ok("producer", "api", detail, rate)

    def stream_health(self) -> Result:
        """The WebSocket source: connected and streaming, gaps refilled, few reconnects."""
        found = Counter(e["event"] for e in events_named(self.config, "producer", events.STREAM_HEALTH, 24))
        count = {name: found[name] for name in events.STREAM_HEALTH}
        detail = (f"{count['stream']} stream reports, {count['ws_disconnected']} disconnects, "
                  f"{count['ws_connect_failed']} failed connects, {count['backfill_incomplete']} gaps not "
                  f"refilled in 24 h")
        if not count["stream"]:
            return warn("producer", "api", "no WebSocket stream reports logged in 24 h")
        if count["backfill_incomplete"]:
            return fail("producer", "api", f"{detail}: trades missing (see backfill_incomplete in bin/logs producer)",
                        count["backfill_incomplete"])
        if count["ws_connect_failed"] or count["ws_disconnected"] > self.limits.restarts_warn:
            return warn("producer", "api", detail, count["ws_disconnected"])
        return ok("producer", "api", detail, count["ws_disconnected"])

    def symbols(self) -> Result:
        """The producer's newest exchangeInfo check: which configured symbols it leaves out and why."""
        hours = max(1.0, 3 * self.config.exchange.symbol_check_interval / 3600)
        event = newest_event(self.config, "producer", events.SYMBOL_CHECK, hours)
        if event is None:
            return warn("producer", "symbols", f"no symbol check logged in {hours:g} h (the producer checks "
                                               "exchangeInfo at start and every exchange.symbol_check_interval)")
        excluded, active = event.get("excluded") or {}, event.get("active") or []
        configured = len(event.get("configured") or []) or len(excluded) + len(active)
        checked = f"checked {_age(event)} ago"
        if not excluded:
            return ok("producer", "symbols", f"all {configured} configured symbols TRADING ({checked})", {})
        left_out = ", ".join(f"{symbol} {status}" for symbol, status in excluded.items())
        detail = (f"{len(excluded)} of {configured} configured symbols left out: {left_out}; "
                  f"{len(active)} flowing ({checked}; docs/RUNBOOK.md section 8)")
        return (fail if not active else warn)("producer", "symbols", detail, excluded)

    def publishing(self) -> Result:
        age = topic.newest_record_age(self.config, self.ends())
        if age is None:
            return fail("producer", "publishing", "the topic holds no message")
        detail = f"newest message {age:.0f}s old"
        if age > self.limits.freshness:
            return fail("producer", "publishing", f"{detail}: nothing published for over "
                                                  f"{self.limits.freshness:g}s", age)
        return ok("producer", "publishing", detail, age)

    # --- 3.4 MySQL ---

    def new_rows(self) -> Result:
        count = mysql_query(self.config, "row_count")[0][0]
        age = mysql_query(self.config, "last_write")[0][0]
        if age is None:
            return warn("mysql", "new rows", "moving_averages is empty", 0)
        detail = f"{count} rows, last written {age}s ago"
        if age > self.limits.freshness:
            return fail("mysql", "new rows", f"{detail}: no write for over {self.limits.freshness:g}s", age)
        return ok("mysql", "new rows", detail, age)

    def duplicates(self) -> Result:
        rows = mysql_query(self.config, "duplicate_windows")
        if rows:
            first = rows[0]
            return fail("mysql", "duplicates", f"{len(rows)} windows stored more than once, e.g. "
                                               f"{first[0]} {first[1]} x{first[3]}", len(rows))
        return ok("mysql", "duplicates", "no duplicate (symbol, window) rows", 0)

    def corrupted(self) -> Result:
        window = int(self.config.processor.window)
        rows = mysql_query(self.config, "corrupted_rows", (window,))
        if rows:
            return fail("mysql", "corrupted", f"{len(rows)} bad rows (NULL/non-positive prices, end <= start, "
                                              f"or not aligned to {window}s), e.g. {rows[0][0]} {rows[0][1]}",
                        len(rows))
        return ok("mysql", "corrupted", f"no corrupted rows (prices, bounds, {window}s alignment)", 0)

    def timestamps(self) -> Result:
        rows = mysql_query(self.config, "future_rows")
        if rows:
            return fail("mysql", "timestamps", f"{len(rows)} rows in the future (UTC), e.g. {rows[0][0]} "
                                               f"{rows[0][1]}", len(rows))
        return ok("mysql", "timestamps", "all times UTC and not in the future", 0)

    def rejects(self) -> Result:
        """Bad input is the outside world's, not a fault: counted by reason. A batch MySQL
        would not take (quarantined) is a fault of ours and warns."""
        counts = dict(mysql_query(self.config, "rejected_by_reason", (24,)))
        total = sum(counts.values())
        detail = ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items())) or "none"
        if counts.get("quarantined"):
            return warn("mysql", "rejects", f"{counts['quarantined']} messages quarantined (a batch MySQL "
                                            f"would not take; see bin/logs processor, batch_quarantined); "
                                            f"last 24 h: {detail}", total)
        return ok("mysql", "rejects", f"last 24 h: {detail}", total)

    def account(self) -> Result:
        """Duplicated or corrupted data the row checks cannot see: wrong figures, a price
        counted twice, a message neither in a window nor rejected."""
        result = reconcile(self.config)
        detail = f"{result.messages} messages in Kafka accounted for in {result.windows} windows"
        if not result.exact:
            return fail("mysql", "account", f"{len(result.problems)} problems against Kafka, e.g. "
                                            f"{result.problems[0]} (bin/reconcile lists them)", len(result.problems))
        return ok("mysql", "account", f"{detail}: exact", 0)

    def checks(self) -> list[tuple[str, str, Callable[[], Result]]]:
        kafka = [("kafka", "topic", self.kafka_topic)]
        if self.config.kafka.private_broker:  # else supervisord does not run it here
            kafka += [("kafka", "running", lambda: self.running("kafka", "kafka")),
                      ("kafka", "restarts", lambda: self.restarts("kafka", "kafka"))]
        return kafka + [
            ("spark", "running", lambda: self.running("spark", "processor")),
            ("spark", "last batch", self.last_batch),
            ("spark", "batch duration", self.batch_duration),
            ("spark", "lag", self.lag),
            ("producer", "running", lambda: self.running("producer", "producer")),
            ("producer", "api", self.api_health),
            ("producer", "symbols", self.symbols),
            ("producer", "publishing", self.publishing),
            ("mysql", "new rows", self.new_rows),
            ("mysql", "duplicates", self.duplicates),
            ("mysql", "corrupted", self.corrupted),
            ("mysql", "timestamps", self.timestamps),
            ("mysql", "rejects", self.rejects),
            ("mysql", "account", self.account),
        ]


def _age(event: dict) -> str:
    """'4m 10s' since a log event was logged."""
    seconds = int((datetime.now(timezone.utc) - time_of(event)).total_seconds())
    return f"{seconds // 60}m {seconds % 60}s" if seconds >= 60 else f"{max(0, seconds)}s"


@cli.command(cli.UNKNOWN)
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="daily-check", description="Runbook section 3: daily health checks.")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    return report(run_all(DailyCheck(config_module.load()).checks()), args.json)
