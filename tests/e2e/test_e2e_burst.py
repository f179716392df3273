"""End to end: bursts of hostile messages change nothing but the reject count.

On the real native stack (bin/up --simulated), in two timings: while the processor runs, and
while it is stopped (then started, so its first micro-batch holds the whole burst). Each burst
is 100 values of about 1 MB, 100 deeply nested values and 100 other pathological kinds written
straight to the topic. Afterwards: the processor was never restarted (same pid, no failed
query), fresh prices kept landing within the usual latency, bin/reconcile is exact, every
burst message is in rejected_messages with a bounded prefix, its full length and SHA-256, and
bin/daily-check runs its account without crashing.
"""
from __future__ import annotations

import hashlib
import json
import time

import pytest

from tests.helpers.harness import query, send, wait_until_processed
from tests.helpers.stack import FAST_STACK, NativeStack, running

pytestmark = [pytest.mark.e2e, pytest.mark.badinput]
SETTINGS = FAST_STACK
FRESH_S = 20  # newest price in MySQL at most this old while the burst is processed


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from running(NativeStack(tmp_path_factory.mktemp("burst"), **SETTINGS))


def burst(tag: int) -> list[tuple[bytes | None, bytes]]:
    """300 hostile (key, value) pairs; `tag` makes each burst's values distinct."""
    now = int(time.time() * 1000)
    large = [(None, f"{tag}:{n}:".encode() + bytes([n % 256]) * 1_000_000) for n in range(100)]
    deep = [(b"BTCUSDT", kind * depth) for kind, depth in ((b"[", 100_000), (b'{"a":', 20_000), (b"[", 1001),
                                                             (b'{"a":[', 600))] * 25
    return large + deep + [(b"BTCUSDT", value) for value in pathological(now, tag)]


def pathological(now: int, tag: int) -> list[bytes]:
    """100 values of other kinds: huge numbers, wide objects, odd unicode, swapped types,
    out-of-range times, invalid UTF-8, lone surrogates, repeated names."""
    good = {"schema_version": 1, "symbol": "BTCUSDT", "price": "97000.5", "event_time": now, "ingest_time": now,
            "source": f"burst-{tag}"}
    variants = [{**good, "price": 97000.5}, {**good, "price": 10 ** 900}, {**good, "event_time": -2 ** 63},
                {**good, "ingest_time": 2 ** 63 - 1}, {**good, "event_time": 2 ** 63 - 1}, {**good, "symbol": 7},
                {**good, "source": ["x"]}, {**good, "schema_version": "1"}, {**good, "price": "1\r"},
                {**good, "symbol": "BTCUSDT\u2028"}, {**good, **{f"k{i}": i for i in range(300)}},
                {**good, "x": "\udcff"}]
    values = [json.dumps(v).encode("utf-8", errors="surrogatepass") for v in variants]
    values += [b"1" * 3000, b'{"x":' + b"9" * 1500 + b"}", b"\xff\xfe" * 100, b"\xef\xbb\xbf{}", b"truex",
               json.dumps(good).encode()[:-1] + b', "event_time": "x"}', b"\x00" * 50, b"[" + b"1," * 1500 + b"1]"]
    return (values * 5)[:100]


def processor_pid(stack: NativeStack) -> int:
    return int(stack.ctl("pid", "processor").strip())


def newest_price_age(stack: NativeStack) -> float:
    """Seconds since the newest price counted in MySQL was fetched (end-to-end latency)."""
    return query(stack.config, "SELECT TIMESTAMPDIFF(MICROSECOND, MAX(newest_ingest_time), UTC_TIMESTAMP(3)) "
                               "FROM moving_averages")[0][0] / 1e6


def wait_processed_while_fresh(stack: NativeStack, timeout: float = 300) -> float:
    """Wait until the processor has applied the whole topic, sampling all along how old the
    newest price in MySQL is; returns the worst age seen."""
    deadline, worst = time.monotonic() + timeout, 0.0
    while True:
        worst = max(worst, newest_price_age(stack))
        try:
            wait_until_processed(stack.config, timeout=5)
            return max(worst, newest_price_age(stack))
        except TimeoutError:
            assert time.monotonic() < deadline, f"the processor did not catch up in {timeout:.0f}s"


def assert_burst_accounted(stack: NativeStack, pid: int, failures_before: int, pairs) -> None:
    """Same processor process, no failed query, exact account, every burst value stored bounded."""
    assert processor_pid(stack) == pid, "the processor was restarted"
    assert "RUNNING" in stack.ctl("status", "processor")
    assert stack.log("processor").count('"query_failed"') == failures_before
    cli = stack.run("reconcile", "--json")  # each read of the topic is 100-200 MB here: one for the account
    assert cli.returncode == 0, cli.stdout[-3000:] + cli.stderr[-3000:]
    account = json.loads(cli.stdout)
    assert account["exact"] and account["quarantined"] == 0, account["problems"][:20]
    large = pairs[0][1]
    stored = query(stack.config, "SELECT reason, LENGTH(raw_value), raw_length, raw_sha256 FROM rejected_messages "
                                 "WHERE raw_sha256 = %s", (hashlib.sha256(large).hexdigest(),))
    assert stored == [("too_large", 1024, len(large), hashlib.sha256(large).hexdigest())]
    assert query(stack.config, "SELECT MAX(LENGTH(raw_value)) FROM rejected_messages")[0][0] <= 1024
    daily = stack.run("daily-check")
    assert daily.returncode in (0, 1, 2) and "Traceback" not in daily.stdout + daily.stderr, daily.stdout + daily.stderr
    assert "exact" in daily.stdout, daily.stdout
    too_large = query(stack.config, "SELECT COUNT(*) FROM rejected_messages WHERE reason = 'too_large'")[0][0]
    assert f"too_large {too_large}" in daily.stdout, daily.stdout  # the rejects reported, by reason


def test_burst_while_the_processor_runs(stack) -> None:
    wait_until_processed(stack.config, timeout=120)
    pid, failures = processor_pid(stack), stack.log("processor").count('"query_failed"')
    pairs = burst(1)
    send(stack.config, pairs)
    worst = wait_processed_while_fresh(stack)
    assert worst < FRESH_S, f"newest price {worst:.1f}s old during the burst"
    assert_burst_accounted(stack, pid, failures, pairs)


def test_burst_while_the_processor_is_stopped(stack) -> None:
    assert "stopped" in stack.ctl("stop", "processor")
    pairs = burst(2)
    send(stack.config, pairs)
    assert "started" in stack.ctl("start", "processor")
    pid, failures = processor_pid(stack), stack.log("processor").count('"query_failed"')
    wait_until_processed(stack.config, timeout=300)
    time.sleep(5)  # prices published after the catch-up land too
    assert newest_price_age(stack) < FRESH_S
    assert_burst_accounted(stack, pid, failures, pairs)
    reasons = dict(query(stack.config, "SELECT reason, COUNT(*) FROM rejected_messages GROUP BY reason"))
    assert reasons.get("too_large", 0) >= 2 * 150
    assert reasons.get("not_json", 0) >= 2 * 50
