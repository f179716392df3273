"""Runbook 3.1's Kafka row: the topic and its partitions."""
from __future__ import annotations

from cryptostream.ops.checks import Result, ok, warn
from cryptostream.ops.health.facts import Facts


def kafka_topic(facts: Facts) -> Result:
    ends, expected = facts.ends(), facts.config.kafka.partitions
    detail = f"topic {facts.config.kafka.topic}: {len(ends)} partitions, {sum(ends.values())} messages"
    if len(ends) != expected:
        return warn("kafka", "topic", f"{detail}; expected {expected} partitions", len(ends))
    return ok("kafka", "topic", detail, len(ends))
