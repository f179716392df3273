"""Runbook 3.4's MySQL rows: new rows, duplicate, corrupted and future windows, rejects, the exact account."""
from __future__ import annotations

from cryptostream.ops.checks import Result, fail, ok, warn
from cryptostream.ops.health.facts import Facts
from cryptostream.ops.health.probes.mysql import mysql_query
from cryptostream.ops.reconcile import reconcile


def new_rows(facts: Facts) -> Result:
    count = mysql_query(facts.config, "row_count")[0][0]
    age = mysql_query(facts.config, "last_write")[0][0]
    limit = facts.limits.freshness
    if age is None:
        return warn("mysql", "new rows", "moving_averages is empty", 0)
    detail = f"{count} rows, last written {age}s ago"
    if age > limit:
        return fail("mysql", "new rows", f"{detail}: no write for over {limit:g}s", age)
    return ok("mysql", "new rows", detail, age)


def duplicates(facts: Facts) -> Result:
    rows = mysql_query(facts.config, "duplicate_windows")
    if rows:
        first = rows[0]
        return fail("mysql", "duplicates", f"{len(rows)} windows stored more than once, e.g. "
                                           f"{first[0]} {first[1]} x{first[3]}", len(rows))
    return ok("mysql", "duplicates", "no duplicate (symbol, window) rows", 0)


def corrupted(facts: Facts) -> Result:
    window = int(facts.config.processor.window)
    rows = mysql_query(facts.config, "corrupted_rows", (window,))
    if rows:
        return fail("mysql", "corrupted", f"{len(rows)} bad rows (NULL/non-positive prices, end <= start, "
                                          f"or not aligned to {window}s), e.g. {rows[0][0]} {rows[0][1]}",
                    len(rows))
    return ok("mysql", "corrupted", f"no corrupted rows (prices, bounds, {window}s alignment)", 0)


def timestamps(facts: Facts) -> Result:
    rows = mysql_query(facts.config, "future_rows")
    if rows:
        return fail("mysql", "timestamps", f"{len(rows)} rows in the future (UTC), e.g. {rows[0][0]} "
                                           f"{rows[0][1]}", len(rows))
    return ok("mysql", "timestamps", "all times UTC and not in the future", 0)


def rejects(facts: Facts) -> Result:
    """Bad input is the outside world's, not a fault: counted by reason. A batch MySQL
    would not take (quarantined) is a fault of ours and warns."""
    counts = dict(mysql_query(facts.config, "rejected_by_reason", (24,)))
    total = sum(counts.values())
    detail = ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items())) or "none"
    if counts.get("quarantined"):
        return warn("mysql", "rejects", f"{counts['quarantined']} messages quarantined (a batch MySQL "
                                        f"would not take; see bin/logs processor, batch_quarantined); "
                                        f"last 24 h: {detail}", total)
    return ok("mysql", "rejects", f"last 24 h: {detail}", total)


def account(facts: Facts) -> Result:
    """Duplicated or corrupted data the row checks cannot see: wrong figures, a price
    counted twice, a message neither in a window nor rejected."""
    facts.ends()  # with Kafka away this fails at once, as the topic row did, not after the reader's 30 s
    result = reconcile(facts.config)
    detail = f"{result.messages} messages in Kafka accounted for in {result.windows} windows"
    if not result.exact:
        return fail("mysql", "account", f"{len(result.problems)} problems against Kafka, e.g. "
                                        f"{result.problems[0]} (bin/reconcile lists them)", len(result.problems))
    return ok("mysql", "account", f"{detail}: exact", 0)
