"""Log event names: every program emits them from cryptostream.core.events and every check reads them
from there, so no check watches for an event nothing emits (weekly-check once did)."""
from __future__ import annotations

import ast
import io
import json
import logging
from pathlib import Path

from kafka.errors import KafkaTimeoutError
from kafka.future import Future

from cryptostream.ops.deployment import NativeDeployment
from cryptostream.core import events, logs
from cryptostream.core.config import load
from cryptostream.ops.health import weekly_check
from cryptostream.pipeline.producer.publisher import Publisher
from cryptostream.pipeline.schema import PriceMessage
from tests.helpers.harness import PROJECT_DIR

LEVELS = {"debug", "info", "warning", "error", "exception", "critical"}
DECLARED = {name for name, value in vars(events).items() if name.isupper() and isinstance(value, str)}


def log_calls() -> list[tuple[str, int, ast.expr]]:
    """(file, line, first argument) of every structlog-style call in the package."""
    found = []
    for path in sorted((PROJECT_DIR / "cryptostream").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in LEVELS and node.args):
                found.append((str(path.relative_to(PROJECT_DIR)), node.lineno, node.args[0]))
    return found


def emitted_names() -> set[str]:
    return {arg.attr for _, _, arg in log_calls()
            if isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name) and arg.value.id == "events"}


def test_no_program_spells_an_event_name_out() -> None:
    literal = [f"{file}:{line} {arg.value!r}" for file, line, arg in log_calls()
               if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.isidentifier()]
    assert not literal, f"log events named by a string instead of cryptostream.core.events: {literal}"


def test_every_declared_event_is_emitted_somewhere() -> None:
    """A name in cryptostream.core.events that no program logs would blind whatever check reads it."""
    never = sorted(DECLARED - emitted_names())
    assert not never, f"declared in cryptostream/core/events.py but logged by nothing: {never}"


def test_every_event_a_check_reads_is_declared() -> None:
    watched = events.CONNECTION_FAILURES | events.WRITE_FAILURES
    declared_values = {getattr(events, name) for name in DECLARED}
    assert watched <= declared_values, f"checks watch for undeclared events: {sorted(watched - declared_values)}"


def publisher_log_after_a_failed_delivery(tmp_path: Path) -> str:
    """The JSON lines the real Publisher writes when Kafka reports a delivery failed."""
    stream = io.StringIO()
    logs.configure("producer")
    root = logging.getLogger()
    root.handlers[0].setStream(stream)
    config = load(env={"CRYPTOSTREAM_HOME": str(tmp_path)})
    publisher = Publisher(config)
    message = PriceMessage(symbol="BTCUSDT", price="97000.5", event_time=1_764_633_600_000,
                           ingest_time=1_764_633_600_010, source="rest")
    failed = Future().failure(KafkaTimeoutError("Batch for crypto_prices-0 expired after 120000 ms"))
    publisher.in_flight.append((message, failed))  # as KafkaProducer.send leaves it, then expired
    publisher.drain(wait=0)
    assert list(publisher.pending) == [message], "a failed delivery must be handed over again"
    return stream.getvalue()


def test_weekly_log_review_counts_a_failed_kafka_delivery(tmp_path) -> None:
    lines = publisher_log_after_a_failed_delivery(tmp_path)
    assert events.KAFKA_DELIVERY_FAILED in lines, f"the publisher logged no failed delivery: {lines!r}"
    (tmp_path / "log").mkdir()
    (tmp_path / "log" / "producer.log").write_text(lines)
    config = load(env={"CRYPTOSTREAM_HOME": str(tmp_path)})
    result = weekly_check.connection_failures(weekly_check.week_log(NativeDeployment(config)))
    assert result.status.name == "WARN", f"weekly-check missed the failed delivery: {result}"
    assert result.value == 1 and events.KAFKA_DELIVERY_FAILED in result.detail, result
    assert json.loads(lines.splitlines()[-1])["count"] == 1


def test_every_failure_is_logged_at_its_level() -> None:
    """A failure logged at info is invisible to a review or an alert that filters on level: each
    failure event is logged at the level events.FAILURE_LEVELS gives it, wherever it is logged."""
    names = {value: name for name, value in vars(events).items() if name.isupper() and isinstance(value, str)}
    levels = {names[event]: level for event, level in events.FAILURE_LEVELS.items()}
    wrong, seen = [], set()
    for path in sorted((PROJECT_DIR / "cryptostream").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in LEVELS
                    and node.args and isinstance(node.args[0], ast.Attribute) and node.args[0].attr in levels):
                seen.add(node.args[0].attr)
                if node.func.attr != levels[node.args[0].attr]:
                    wrong.append(f"{path.name}:{node.lineno} {node.args[0].attr} at {node.func.attr}")
    assert not wrong
    assert seen == set(levels), set(levels) - seen  # every failure in the table is logged somewhere
