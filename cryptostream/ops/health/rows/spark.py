"""Runbook 3.2's Spark rows: the last micro-batch, batch duration and lag."""
from __future__ import annotations

from cryptostream.ops import programs
from cryptostream.ops.checks import Result, fail, ok, warn
from cryptostream.ops.health.facts import Facts
from cryptostream.ops.health.percentile import percentile
from cryptostream.ops.health.probes.checkpoint import checkpoint_offsets
from cryptostream.ops.health.probes.log_events import log_events, warm_batches
from cryptostream.ops.health.probes.mysql import mysql_query


def last_batch(facts: Facts) -> Result:
    rows = mysql_query(facts.config, "progress", (facts.config.processor.query_name,))
    if not rows:
        return warn("spark", "last batch", "no micro-batch applied yet")
    batch_id, _watermark, _offsets, age = rows[0]
    age, limit = float(age), facts.limits.freshness
    detail = f"batch {batch_id} applied {age:.0f}s ago"
    if age > limit:
        return warn("spark", "last batch", f"{detail} (older than {limit:g}s)", age)
    return ok("spark", "last batch", detail, age)


def batch_duration(facts: Facts) -> Result:
    durations = [e["duration_ms"] / 1000 for e in warm_batches(log_events(facts.deployment, programs.PROCESSOR, 0.25))]
    p95, limits = percentile(durations, 0.95), facts.limits
    if p95 is None:
        return warn("spark", "batch duration", "no micro-batch in the last 15 min")
    detail = f"p95 {p95:.2f}s over {len(durations)} batches (15 min)"
    if p95 > limits.batch_p95_fail:
        return fail("spark", "batch duration", f"{detail} > {limits.batch_p95_fail:g}s", p95)
    if p95 > limits.batch_p95_warn:
        return warn("spark", "batch duration", f"{detail} > {limits.batch_p95_warn:g}s", p95)
    return ok("spark", "batch duration", detail, p95)


def lag(facts: Facts) -> Result:
    checkpoint = checkpoint_offsets(facts.deployment)
    done = checkpoint[1] if checkpoint else {}
    behind = sum(max(0, end - done.get(p, 0)) for p, end in facts.ends().items())
    detail = f"{behind} messages behind (topic end offsets minus checkpoint" + \
        (f" batch {checkpoint[0]})" if checkpoint else ", no batch committed)")
    if behind > facts.limits.lag_fail:
        return fail("spark", "lag", detail, behind)
    if behind > facts.limits.lag_warn:
        return warn("spark", "lag", detail, behind)
    return ok("spark", "lag", detail, behind)
