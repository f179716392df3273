"""Faults survived with nothing lost and nothing duplicated: each test breaks the running
native stack while the simulated exchange keeps producing, lets it recover, and ends with
bin/reconcile's exact account of every message in Kafka."""
from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import pytest
import requests

from cryptostream.ops.reconcile import read_messages, reconcile
from tests.helpers.harness import wait_until_processed
from tests.helpers.stack import FAST_STACK, NativeStack, running

pytestmark = [pytest.mark.e2e, pytest.mark.fault]
SETTINGS = {**FAST_STACK, "processor_mysql_retries": "3", "exchange_read_timeout": "1s"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from running(NativeStack(tmp_path_factory.mktemp("faults"), **SETTINGS))


def settle_and_reconcile(stack: NativeStack) -> None:
    """Stop the producer, let the processor drain the topic, then account for every message,
    and check the producer published no price twice (one per symbol and receipt time)."""
    assert "stopped" in stack.ctl("stop", "producer")
    wait_until_processed(stack.config, timeout=240)
    account = reconcile(stack.config)
    assert account.exact, "\n".join(account.problems[:20])
    assert account.windows > 0
    keys = [(m.body["symbol"], m.body["event_time"]) for m in read_messages(stack.config)]
    assert len(keys) == len(set(keys)), "the producer published a price twice"
    assert "started" in stack.ctl("start", "producer")


def wait_running(stack: NativeStack, program: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while "RUNNING" not in stack.ctl("status", program):
        assert time.monotonic() < deadline, stack.ctl("status", program)
        time.sleep(1)


def test_processor_killed_three_times_at_random_points(stack) -> None:
    """kill -9 of the processor at three random moments, mid-batch included: results stay exact."""
    rng = random.Random(20261127)
    for _ in range(3):
        wait_running(stack, "processor")
        time.sleep(rng.uniform(1.0, 6.0))
        stack.kill_processor()
    wait_running(stack, "processor")
    settle_and_reconcile(stack)


def test_producer_killed_and_restarted(stack) -> None:
    """kill -9 of the producer: supervisord restarts it; nothing is lost or counted twice."""
    pid = int(stack.ctl("pid", "producer").strip())
    os.killpg(pid, 9)
    time.sleep(2)
    wait_running(stack, "producer")
    assert int(stack.ctl("pid", "producer").strip()) != pid
    time.sleep(3)
    settle_and_reconcile(stack)


def test_kafka_down_for_30_seconds(stack) -> None:
    """Kafka stopped for 30 s: the producer buffers and retries, the processor recovers."""
    assert "stopped" in stack.ctl("stop", "kafka")
    time.sleep(30)
    assert "started" in stack.ctl("start", "kafka")
    deadline = time.monotonic() + 120
    while (polls := producer_polls(stack))[-1]["pending"] > 0:  # delivered once Kafka is back
        assert time.monotonic() < deadline, polls[-1]
        time.sleep(2)
    assert max(p["pending"] for p in polls) >= 10  # prices were kept while Kafka was away
    settle_and_reconcile(stack)


def producer_polls(stack: NativeStack) -> list[dict]:
    """Every poll's line, answered (poll) or not (poll_failed, a warning)."""
    return [event for line in stack.log("producer").splitlines() if line.startswith("{")
            and (event := json.loads(line))["event"] in ("poll", "poll_failed")]


def test_mysql_down_for_60_seconds(stack) -> None:
    """MySQL stopped for 60 s: the processor retries, fails, is restarted by supervisord and
    catches up from its checkpoint."""
    assert "stopped" in stack.ctl("stop", "mysql")
    time.sleep(60)
    assert "started" in stack.ctl("start", "mysql")
    assert '"mysql_retry"' in stack.log("processor")
    stack.ctl("start", "processor")  # in case supervisord gave up on it (FATAL) during the outage
    wait_running(stack, "processor")
    settle_and_reconcile(stack)


def test_unwritable_checkpoint_stops_the_processor_with_a_clear_error(stack) -> None:
    """A checkpoint that cannot be written: the processor says so and exits non-zero, supervisord
    backs off, no row is corrupted; once the folder is back, the account is exact again."""
    checkpoint = stack.config.checkpoint_dir
    assert "stopped" in stack.ctl("stop", "processor")
    aside = checkpoint.with_name("moved-aside")
    checkpoint.rename(aside)
    checkpoint.write_text("a file where the checkpoint folder should be")
    try:
        stack.ctl("start", "processor")
        deadline = time.monotonic() + 60
        while "checkpoint" not in "".join(line for line in stack.log("processor").splitlines()
                                          if '"cannot_start"' in line):
            assert time.monotonic() < deadline, stack.log("processor")[-2000:]
            time.sleep(2)
        assert "not writable" in stack.log("processor")
        # one reading of the state: it moves between STARTING and BACKOFF while supervisord retries
        status = stack.ctl("status", "processor")
        assert any(state in status for state in ("BACKOFF", "FATAL", "STARTING")), status
        assert "exited: processor (exit status 2; not expected)" in (stack.home / "log" / "supervisord.log").read_text()
    finally:  # the folder back and the processor started even if a check failed: the next tests need it
        stack.ctl("stop", "processor")
        checkpoint.unlink()
        aside.rename(checkpoint)
        started = stack.ctl("start", "processor")
    assert "started" in started, started
    wait_running(stack, "processor")
    settle_and_reconcile(stack)


def exchange_requests(stack: NativeStack) -> list[dict]:
    """The simulated exchange's log of ticker requests: arrival (monotonic), port, status."""
    return requests.get(f"http://127.0.0.1:{stack.config.simulator.port}/sim/requests", timeout=5).json()


def inject(stack: NativeStack, **fault) -> list[dict]:
    """Queue a fault; return the requests from the first faulty one on, once 3 more followed."""
    start = len(exchange_requests(stack))
    queued = requests.post(f"http://127.0.0.1:{stack.config.simulator.port}/sim/faults", json=fault, timeout=5)
    assert queued.status_code == 200, queued.text
    deadline = time.monotonic() + 60
    while True:
        log = exchange_requests(stack)[start:]
        faulty = [i for i, r in enumerate(log) if r["fault"] == fault["mode"]]
        if len(faulty) == fault.get("count", 1) and len(log) >= faulty[-1] + 4:
            return log[faulty[0]:]
        assert time.monotonic() < deadline, log
        time.sleep(0.5)


def test_exchange_faults_are_ridden_out(stack) -> None:
    """429 and 418 with Retry-After: no request before it has passed, the next right after;
    5xx bursts, answers slower than the read timeout, malformed JSON and missing symbols are
    logged and polling goes on; a 451 moves the producer to the fallback base URL (the
    simulator's mirror port). Nothing is lost or counted twice."""
    simulator = stack.config.simulator
    for mode, status in (("rate_limit", 429), ("ban", 418)):
        log = inject(stack, mode=mode, retry_after=3)
        waited = log[1]["at"] - log[0]["at"]
        assert log[0]["status"] == status and 3.0 <= waited <= 4.0, (mode, waited)
    log = inject(stack, mode="server_error", status=503, count=5)
    assert [r["status"] for r in log[:6]] == [503] * 5 + [200]
    log = inject(stack, mode="geo_block", port=simulator.port)
    assert log[0]["status"] == 451
    assert {r["port"] for r in log[1:]} == {simulator.mirror_port}
    log = inject(stack, mode="slow", delay=2.5)  # read timeout 1 s: given up, the other URL is asked
    assert log[1]["port"] != log[0]["port"]
    assert log[1]["at"] - log[0]["at"] < 2.0
    inject(stack, mode="malformed")
    inject(stack, mode="missing_symbols", drop=2)
    polls = producer_polls(stack)
    errors = {(p.get("error"), p.get("status")) for p in polls}
    assert {("rate_limited", 429), ("rate_limited", 418), ("ExchangeError", 503), ("ExchangeError", None)} <= errors
    assert any(p.get("missing") == ["BNBUSDT", "ADAUSDT"] for p in polls)
    assert any("malformed JSON" in (p.get("detail") or "") for p in polls)
    assert "RUNNING" in stack.ctl("status", "producer")
    settle_and_reconcile(stack)


def test_short_soak_reports_memory_lag_and_an_exact_account(stack) -> None:
    """bin/soak for half a minute at 200 msgs/s: samples memory and lag, stops by itself, exact."""
    started = time.monotonic()
    result = stack.run("soak", "--minutes", "0.5", "--rate", "200", timeout=400)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert time.monotonic() - started < 300
    report = json.loads(Path(result.stdout.strip().splitlines()[-1]).read_text())
    assert report["reconcile"]["exact"]
    assert 5_000 <= report["sent"] <= 6_500
    assert len(report["samples"]) >= 2
    assert report["peak_rss_mib"]["processor"] > 100
