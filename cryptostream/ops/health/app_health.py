"""cryptostream-app-health: the app container's health check. Healthy means working, not only
running: both programs RUNNING under supervisord, a micro-batch committed and a price published
within checks.freshness. Exit 0 healthy, 1 unhealthy (Docker's convention), one line saying why.

The newest committed batch is the newest file of the Spark checkpoint's commits/ log: Spark
writes it only after the batch's MySQL transaction committed, so it proves the whole write path.
The newest publish is the newest message's timestamp in the topic, as bin/daily-check's
publishing row reads it: it proves Kafka acknowledged what the producer sent.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cryptostream.core import config as config_module
from cryptostream.core.config import Config
from cryptostream.ops import cli, programs, supervisor
from cryptostream.pipeline import topic

HEALTHY, UNHEALTHY = 0, 1


@dataclass(frozen=True)
class Observation:
    """What one health check saw."""
    states: dict[str, str]  # program -> supervisord state name
    batch_age: float | None  # seconds since the newest committed micro-batch; None: none yet
    publish_age: float | None  # seconds since the newest message in the topic; None: empty topic


def verdict(seen: Observation, freshness: float) -> tuple[bool, str]:
    """(healthy, the one line saying why) for what was seen, against the freshness limit."""
    stopped = [f"{name} is {seen.states.get(name, 'MISSING')}" for name in programs.PIPELINE
               if seen.states.get(name) != "RUNNING"]
    if stopped:
        return False, "; ".join(stopped)
    if seen.batch_age is None:
        return False, "the processor has committed no micro-batch yet"
    if seen.batch_age > freshness:
        return False, f"no micro-batch committed for {seen.batch_age:.0f}s (checks.freshness {freshness:g}s)"
    if seen.publish_age is None:
        return False, "the topic holds no message: the producer has published nothing"
    if seen.publish_age > freshness:
        return False, f"nothing published for {seen.publish_age:.0f}s (checks.freshness {freshness:g}s)"
    return True, (f"producer and processor RUNNING; last micro-batch committed {seen.batch_age:.0f}s ago, "
                  f"newest message {seen.publish_age:.0f}s old (checks.freshness {freshness:g}s)")


def newest_commit_age(checkpoint: Path, now: float) -> float | None:
    """Seconds since Spark committed the newest batch of this checkpoint (None before the first)."""
    batches = [int(p.name) for p in (checkpoint / "commits").glob("[0-9]*") if p.name.isdigit()]
    if not batches:
        return None
    return now - (checkpoint / "commits" / str(max(batches))).stat().st_mtime


def observe(config: Config) -> Observation:
    states = {info["name"]: info["statename"] for info in supervisor.process_info(config)}
    batch_age = newest_commit_age(config.checkpoint_dir, time.time())
    return Observation(states, batch_age, topic.newest_record_age(config, topic.end_offsets(config)))


@cli.command(UNHEALTHY)
def main() -> int:
    config = config_module.load()
    cli.require_supervisord(config)
    healthy, why = verdict(observe(config), config.checks.freshness)
    print(f"{'healthy' if healthy else 'unhealthy'}: {why}", file=sys.stdout if healthy else sys.stderr)
    return HEALTHY if healthy else UNHEALTHY
