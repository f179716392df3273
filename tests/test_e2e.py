"""End to end: simulated exchange -> producer -> Kafka -> Spark -> MySQL, all real, on 127.0.0.1.

The stack is started once for this module with bin/up --simulated (5-second windows, 2-second
watermark) and stopped with bin/down. What lands in MySQL is compared with a reference
recomputed from the messages read back from Kafka.
"""
from __future__ import annotations

import json
import os
import signal
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tests.harness import Stack, query, read_topic, reference, wait_until_processed

pytestmark = pytest.mark.e2e
WINDOW_MS = 5_000


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("stack"), processor_window="5s", processor_watermark="2s",
                  exchange_poll_interval="200ms")
    started = stack.run("up", "--simulated", "--wait-rows", "180", timeout=900)
    try:
        assert started.returncode == 0, f"bin/up failed:\n{started.stdout}\n{started.stderr}\n" \
                                        f"{stack.log('processor')[-3000:]}"
        yield stack
    finally:
        stopped = stack.run("down", timeout=300)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr


def assert_mysql_matches_kafka(stack: Stack) -> int:
    """Every (symbol, window) from the topic is one row with exact figures; returns the row count."""
    config = stack.config
    wait_until_processed(config)
    messages = read_topic(config)
    expected = reference(messages, WINDOW_MS)
    rows = query(config, "SELECT symbol, start_time, end_time, average_price, min_price, max_price, open_price, "
                         "close_price, sample_count, price_sum FROM moving_averages")
    keys = [(r[0], r[1]) for r in rows]
    assert len(keys) == len(set(keys)), "duplicate (symbol, window) rows"
    got = {(r[0], _epoch_ms(r[1])): r for r in rows}
    assert set(got) == set(expected), f"missing {set(expected) - set(got)}, extra {set(got) - set(expected)}"
    for key, want in expected.items():
        symbol, start, end, average, low, high, first, last, count, total = got[key]
        assert end - start == timedelta(milliseconds=WINDOW_MS)
        assert (count, total, low, high, first, last) == \
            (want["count"], want["sum"], want["min"], want["max"], want["open"], want["close"]), key
        assert abs(average - want["average"]) <= Decimal("1e-8"), key
    assert query(config, "SELECT COUNT(*) FROM rejected_messages")[0][0] == 0
    assert sum(w["count"] for w in expected.values()) == len(messages)
    return len(rows)


def _epoch_ms(naive_utc: datetime) -> int:
    return int(naive_utc.replace(tzinfo=timezone.utc).timestamp() * 1000)


def test_up_runs_four_programs_and_logs_json(stack: Stack) -> None:
    """After bin/up the four programs are RUNNING and every producer log line is JSON."""
    status = stack.ctl("status")
    for program in ("infra:kafka", "infra:mysql", "pipeline:producer", "pipeline:processor"):
        assert f"{program}" in status and "RUNNING" in status.split(program, 1)[1].splitlines()[0]
    lines = stack.run("logs", "--no-follow", "producer").stdout.splitlines()
    assert lines and all(json.loads(line)["component"] == "producer" for line in lines)
    assert any(json.loads(line)["event"] == "poll" for line in lines)


def test_up_again_is_idempotent(stack: Stack) -> None:
    """A second bin/up finds everything running, starts nothing twice and still shows rows."""
    pids = stack.ctl("pid", "all")
    again = stack.run("up", "--simulated", "--wait-rows", "60")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "supervisord already running" in again.stdout and "BTCUSDT" in again.stdout
    assert stack.ctl("pid", "all") == pids


def test_mysql_matches_a_reference_recomputed_from_kafka(stack: Stack) -> None:
    """Windows in MySQL equal the windows recomputed from the topic: exact, no duplicates."""
    time.sleep(12)  # a few 5-second windows
    assert "stopped" in stack.ctl("stop", "producer")
    rows = assert_mysql_matches_kafka(stack)
    assert rows >= 5 * 2


def test_processor_restart_mid_stream_stays_exact(stack: Stack) -> None:
    """supervisorctl restart processor while prices flow loses and duplicates nothing."""
    assert "started" in stack.ctl("start", "producer")
    time.sleep(6)
    restarted = stack.ctl("restart", "processor")
    assert "started" in restarted, restarted
    time.sleep(10)
    assert "stopped" in stack.ctl("stop", "producer")
    assert_mysql_matches_kafka(stack)
    starts = [json.loads(line) for line in stack.log("processor").splitlines() if '"query_started"' in line]
    assert len(starts) >= 2


def test_processor_killed_mid_stream_stays_exact(stack: Stack) -> None:
    """kill -9 of the processor (no clean stop) is replayed from the checkpoint exactly once."""
    assert "started" in stack.ctl("start", "producer")
    time.sleep(5)
    pid = int(stack.ctl("pid", "processor").strip())
    os.killpg(pid, signal.SIGKILL)  # the Python driver and its Spark JVM, as a crash would
    deadline = time.monotonic() + 90
    while "RUNNING" not in stack.ctl("status", "processor") and time.monotonic() < deadline:
        time.sleep(1)
    assert "RUNNING" in stack.ctl("status", "processor")
    assert int(stack.ctl("pid", "processor").strip()) != pid
    time.sleep(10)
    assert "stopped" in stack.ctl("stop", "producer")
    assert_mysql_matches_kafka(stack)


def test_no_secret_in_any_log(stack: Stack) -> None:
    """The MySQL passwords appear in no log file of the run."""
    secrets = [p.read_text().strip() for p in (stack.home / "secrets").glob("mysql-*password")]
    assert secrets
    for log in (stack.home / "log").glob("*.log"):
        text = log.read_text(errors="replace")
        assert not any(secret in text for secret in secrets), log.name
