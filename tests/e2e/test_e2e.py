"""End to end: simulated exchange -> producer -> Kafka -> Spark -> MySQL, all real, on 127.0.0.1.

Every test runs twice: on the native stack (bin/up --simulated, supervisord with four
programs) and on the container stack (testcontainers from docker/compose.yml, the app
container's supervisord running producer and processor); see tests/helpers/stack.py. Windows are
5 seconds, the watermark 2. What lands in MySQL is compared with a reference recomputed from
the messages read back from Kafka.
"""
from __future__ import annotations

import json
import random
import time
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from kafka import KafkaAdminClient

from cryptostream.core import events
from cryptostream.ops import programs
from cryptostream.ops.health.probes.log_events import events_named
from cryptostream.ops.reconcile import read_messages, reconcile
from cryptostream.pipeline.processor.windows import utc
from tests.helpers.harness import query, send, wait_until_processed
from tests.helpers.stack import BOTH_STACKS, FAST_STACK, started

pytestmark = pytest.mark.e2e


SETTINGS = FAST_STACK


@pytest.fixture(scope="module", params=BOTH_STACKS)
def stack(request, tmp_path_factory):
    yield from started(request.param, tmp_path_factory.mktemp(f"stack-{request.param}"), **SETTINGS)


def assert_mysql_matches_kafka(stack) -> int:
    """Every message of the topic is accounted for exactly (bin/reconcile's oracle): valid ones
    in exactly one window row with exact figures, invalid ones in rejected_messages with the
    reason the shared rules give. Returns the number of window rows."""
    config = stack.config
    target = wait_until_processed(config)
    account = reconcile(config)
    assert account.exact, "\n".join(account.problems[:20])
    assert account.messages >= sum(target.values())  # everything in the topic when we looked, none skipped
    assert 0 < account.windows <= query(config, "SELECT COUNT(*) FROM moving_averages")[0][0]  # later rows if producing
    if stack.kind == "native":
        assert stack.run("reconcile").returncode == 0
    return account.windows


def test_programs_run_and_log_json(stack) -> None:
    """Every supervisord program is RUNNING and every producer log line is JSON."""
    status = stack.ctl("status")
    for program in stack.programs:
        assert program in status and "RUNNING" in status.split(program, 1)[1].splitlines()[0], status
    lines = stack.log("producer").splitlines()
    if stack.kind == "native":  # what an operator sees: bin/logs, raw JSON when piped
        lines = stack.run("logs", "--no-follow", "producer").stdout.splitlines()
    assert lines
    assert all(json.loads(line)["component"] == "producer" for line in lines)
    assert any(json.loads(line)["event"] == "poll" for line in lines)


def test_small_batches_run_in_one_task_from_the_first(stack) -> None:
    """Every batch below processor.one_task_below, the fresh checkpoint's first among them (its
    size is known from where the Kafka source started), is read in one task."""
    batches = [b for b in events_named(stack.deployment, programs.PROCESSOR, {events.BATCH}, 1) if "one_task" in b]
    assert batches and batches[0]["batch_id"] == 0, batches[:1]
    small = [b for b in batches if b["input_rows"] < stack.config.processor.one_task_below]
    assert small and small[0]["batch_id"] == 0 and all(b["one_task"] for b in small), small


def test_the_processor_starts_from_its_class_archive(stack) -> None:
    """The processor's JVM maps the class archive set-up recorded (natively) or the image holds:
    the faster start (processor/class_archive.py; test_class_archive.py shows the JVM uses it)."""
    started = events_named(stack.deployment, programs.PROCESSOR, {events.STARTED}, 1)
    assert started and all(str(s.get("class_archive")).endswith(".jsa") for s in started), started


def test_metrics_endpoints_count_the_work(stack) -> None:
    """Producer and processor serve Prometheus metrics on 127.0.0.1 that count real work."""
    config = stack.config
    producer = requests.get(f"http://127.0.0.1:{config.metrics.producer_port}/metrics", timeout=5).text
    processor = requests.get(f"http://127.0.0.1:{config.metrics.processor_port}/metrics", timeout=5).text

    def value(text: str, name: str) -> float:
        return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " ")
                   or line.startswith(name + "{"))
    assert value(producer, "cryptostream_messages_published_total") > 0
    assert value(producer, 'cryptostream_exchange_requests_total{outcome="ok"}') > 0
    assert value(producer, "cryptostream_exchange_latency_seconds_count") > 0
    assert value(processor, "cryptostream_batches_total") > 0
    assert value(processor, "cryptostream_input_rows_total") > 0
    assert value(processor, "cryptostream_mysql_write_seconds_count") > 0


def test_each_metrics_endpoint_exports_only_its_own_program(stack) -> None:
    """No figure of the other program at 0 (it would read as "no batches" on a dashboard); the
    gauges a dashboard needs are there and recent."""
    config = stack.config
    producer = requests.get(f"http://127.0.0.1:{config.metrics.producer_port}/metrics", timeout=5).text
    processor = requests.get(f"http://127.0.0.1:{config.metrics.processor_port}/metrics", timeout=5).text
    names = {"producer": metric_names(producer), "processor": metric_names(processor)}
    assert not names["producer"] & names["processor"]
    assert "cryptostream_batches_total" not in names["producer"]
    assert "cryptostream_exchange_requests_total" not in names["processor"]
    now = time.time()
    assert now - gauge(producer, "cryptostream_last_publish_timestamp_seconds") < 30
    assert now - gauge(processor, "cryptostream_last_batch_timestamp_seconds") < 30
    assert now - gauge(processor, "cryptostream_watermark_timestamp_seconds") < 300
    assert "cryptostream_partition_lag_messages{partition=\"0\"}" in processor


def metric_names(text: str) -> set[str]:
    """The cryptostream_* series names of a Prometheus text page."""
    return {line.split("{")[0].split()[0] for line in text.splitlines()
            if line.startswith("cryptostream_")}


def gauge(text: str, name: str) -> float:
    lines = [line for line in text.splitlines() if line.startswith(name + " ")]
    assert lines, f"{name} missing"
    return float(lines[0].split()[-1])


def test_up_again_is_idempotent(stack) -> None:
    """A second bin/up finds everything running, starts nothing twice and still shows rows."""
    if stack.kind != "native":
        pytest.skip("bin/up on the native stack; the container stack's bin/up --docker: test_compose.py")
    pids = stack.ctl("pid", "all")
    again = stack.run("up", "--simulated", "--wait-rows", "60")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "supervisord already running" in again.stdout
    assert "BTCUSDT" in again.stdout
    assert stack.ctl("pid", "all") == pids


def test_mysql_matches_a_reference_recomputed_from_kafka(stack) -> None:
    """Windows in MySQL equal the windows recomputed from the topic: exact, no duplicates."""
    time.sleep(12)  # a few 5-second windows
    assert "stopped" in stack.ctl("stop", "producer")
    rows = assert_mysql_matches_kafka(stack)
    assert rows >= 5 * 2


def test_processor_restart_mid_stream_stays_exact(stack) -> None:
    """supervisorctl restart processor while prices flow loses and duplicates nothing."""
    assert "started" in stack.ctl("start", "producer")
    time.sleep(6)
    restarted = stack.ctl("restart", "processor")
    assert "started" in restarted, restarted
    time.sleep(10)
    assert "stopped" in stack.ctl("stop", "producer")
    assert_mysql_matches_kafka(stack)
    starts = [line for line in stack.log("processor").splitlines() if '"query_started"' in line]
    assert len(starts) >= 2


def test_processor_killed_mid_stream_stays_exact(stack) -> None:
    """kill -9 of the processor (no clean stop) is replayed from the checkpoint exactly once."""
    assert "started" in stack.ctl("start", "producer")
    time.sleep(5)
    pid = stack.kill_processor()
    deadline = time.monotonic() + 90
    while "RUNNING" not in stack.ctl("status", "processor") and time.monotonic() < deadline:
        time.sleep(1)
    assert "RUNNING" in stack.ctl("status", "processor")
    assert int(stack.ctl("pid", "processor").strip()) != pid
    time.sleep(10)
    assert "stopped" in stack.ctl("stop", "producer")
    assert_mysql_matches_kafka(stack)


def poison(now_ms: int) -> list[tuple[bytes | None, bytes | None]]:
    """(key, value) pairs of bad messages, times near now so none is merely late."""
    good = {"schema_version": 1, "symbol": "BTCUSDT", "price": "97000.00000000", "event_time": now_ms,
            "ingest_time": now_ms, "source": "test"}

    def variant(**changes) -> bytes:
        return json.dumps({**good, **changes}).encode()
    return [(b"BTCUSDT", b""), (b"BTCUSDT", b"{not json"), (b"BTCUSDT", b"\xff\xfe\xfd"), (None, b"[1,2,3]"),
            (b"BTCUSDT", variant(price=None)), (b"BTCUSDT", variant(price="NaN")),
            (b"BTCUSDT", variant(price="-3")), (b"BTCUSDT", variant(price="0")),
            (b"BTCUSDT", variant(price="9" * 40)), (b"BTCUSDT", variant(event_time="later")),
            (b"X", variant(symbol="BTC'); DROP TABLE moving_averages;--")), (b"X", variant(symbol="Z" * 10_000)),
            (b"BTCUSDT", variant(schema_version=99)), (b"BTCUSDT", variant(event_time=now_ms + 86_400_000)),
            (b"XRPUSDT", variant(symbol="XRPUSDT")), (None, b"x" * 1_000_000),
            (b"BTCUSDT", variant(source="x'); DELETE FROM moving_averages;--")),
            (b"BTCUSDT", variant(event_time=now_ms - 120_000)),  # valid, but its window is closed: late
            (b"BTCUSDT", variant()), (None, variant(symbol="ETHUSDT", price="3600.5"))]


def metric(port: int, name: str) -> dict[str, float]:
    """A Prometheus counter's value per label set (the text after the name)."""
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {line.split(" ")[0][len(name):]: float(line.split(" ")[-1])
            for line in text.splitlines() if line.startswith(name + "{")}


@pytest.mark.badinput
def test_bad_messages_are_stored_with_their_reason(stack) -> None:
    """Poison on the topic lands in rejected_messages with its reason and is counted in a
    metric; valid rows around it stay exact; the query keeps running."""
    config = stack.config
    count = "SELECT COUNT(*) FROM rejected_messages"
    before = metric(config.metrics.processor_port, "cryptostream_rejected_messages_total"), query(config, count)[0][0]
    send(config, poison(int(time.time() * 1000)))
    assert_mysql_matches_kafka(stack)
    reasons = dict(query(config, "SELECT reason, COUNT(*) FROM rejected_messages GROUP BY reason"))
    assert {"empty_value", "not_json", "wrong_shape", "missing_field", "bad_price", "non_positive_price",
            "wrong_type", "bad_symbol", "unknown_schema_version", "future_event_time",
            "unknown_symbol", "bad_source", "late"} <= set(reasons)
    after = metric(config.metrics.processor_port, "cryptostream_rejected_messages_total")
    stored = query(config, count)[0][0] - before[1]
    assert stored >= 18 and sum(after.values()) - sum(before[0].values()) == stored, after  # each counted once
    assert "RUNNING" in stack.ctl("status", "processor")


def window_start_now(window_ms: int) -> int:
    """The time now, once it is in the first second of a window: a price stamped with it has the
    window's length plus the watermark to be processed before its window closes."""
    while (now_ms := int(time.time() * 1000)) % window_ms >= 1000:
        time.sleep((window_ms - now_ms % window_ms) / 1000)
    return now_ms


@pytest.mark.badinput
def test_repeated_deliveries_of_a_price_count_once(stack) -> None:
    """Copies of a valid message (same symbol and event time: the dedup key), in the same
    batch or a later one, even with another price, are never counted; averages unchanged.
    A later copy is a 'duplicate' while its window is open and 'late' once the watermark has
    closed it, which on a 5 s window depends on how soon the processor gets to it: both are
    right, and reconcile checks each against the window's own rows."""
    config = stack.config
    window_ms = int(config.processor.window * 1000)
    now_ms = window_start_now(window_ms)
    body = {"schema_version": 1, "symbol": "SOLUSDT", "price": "150.25000000", "event_time": now_ms,
            "ingest_time": now_ms, "source": "test"}
    original = json.dumps(body).encode()
    send(config, [(b"SOLUSDT", original), (b"SOLUSDT", original)])
    wait_until_processed(config)
    send(config, [(b"SOLUSDT", original), (b"SOLUSDT", json.dumps({**body, "price": "0.00000001"}).encode())])
    assert_mysql_matches_kafka(stack)
    rows = query(config, "SELECT reason, raw_value FROM rejected_messages WHERE reason IN ('duplicate', 'late')")
    copies = [(reason, json.loads(raw)) for reason, raw in rows
              if json.loads(raw)["event_time"] == now_ms and json.loads(raw)["source"] == "test"]
    assert len(copies) == 3
    assert {c["price"] for _, c in copies} == {"150.25000000", "0.00000001"}
    assert [reason for reason, _ in copies].count("duplicate") >= 1  # the copy next to the original
    counted = query(config, "SELECT min_price, sample_count FROM moving_averages WHERE symbol = 'SOLUSDT' "
                            "AND start_time = %s", (utc(now_ms - now_ms % window_ms),))
    assert counted
    assert counted[0][0] > Decimal("0.00000001")  # the conflicting copy was not counted


def counted(config, window_start_ms: int) -> list[tuple]:
    """(symbol, sample_count, price_sum) of the ETHUSDT and ADAUSDT windows starting then."""
    return query(config, "SELECT symbol, sample_count, price_sum FROM moving_averages WHERE symbol IN "
                         "('ETHUSDT', 'ADAUSDT') AND start_time = %s ORDER BY symbol", (utc(window_start_ms),))


@pytest.mark.badinput
def test_a_copy_in_a_later_batch_is_found_in_kafka_whatever_its_window(stack) -> None:
    """Copies arriving after their original's batch committed, with the windows held open (the
    producer stopped, so the watermark stays): a price's copy with another price, and a trade's
    copy dated in the next window, are both 'duplicate', found through the original batch's
    counted ranges and read back from Kafka (the batch's dedup_again_ms); nothing counted twice."""
    config = stack.config
    window_ms = int(config.processor.window * 1000)
    if "RUNNING" in stack.ctl("status", "producer"):  # the tests before this one leave it stopped
        assert "stopped" in stack.ctl("stop", "producer")
    wait_until_processed(config)
    now_ms = window_start_now(window_ms)
    start = now_ms - now_ms % window_ms
    price = {"schema_version": 1, "symbol": "ETHUSDT", "price": "3000.5", "event_time": now_ms,
             "ingest_time": now_ms, "source": "later-copy"}
    trade = {"schema_version": 2, "symbol": "ADAUSDT", "price": "0.5", "event_time": now_ms,
             "ingest_time": now_ms, "source": "later-copy", "trade_id": 77_000_001, "quantity": "10"}
    send(config, [(b"ETHUSDT", json.dumps(price).encode()), (b"ADAUSDT", json.dumps(trade).encode())])
    wait_until_processed(config)
    originals = counted(config, start)
    assert [symbol for symbol, _, _ in originals] == ["ADAUSDT", "ETHUSDT"]
    looked_back = stack.log("processor").count('"dedup_again_ms"')
    send(config, [(b"ETHUSDT", json.dumps({**price, "price": "1"}).encode()),
                  (b"ADAUSDT", json.dumps({**trade, "event_time": start + window_ms}).encode())])
    assert_mysql_matches_kafka(stack)
    rows = query(config, "SELECT reason, raw_value FROM rejected_messages WHERE raw_value LIKE %s",
                 ('%"later-copy"%',))
    assert sorted((reason, json.loads(raw)["symbol"]) for reason, raw in rows) == [
        ("duplicate", "ADAUSDT"), ("duplicate", "ETHUSDT")]
    assert counted(config, start) == originals  # neither copy counted
    assert query(config, "SELECT COUNT(*) FROM moving_averages WHERE symbol = 'ADAUSDT' AND start_time = %s",
                 (utc(start + window_ms),)) == [(0,)]
    assert stack.log("processor").count('"dedup_again_ms"') > looked_back


@pytest.mark.badinput
def test_trades_give_vwap_and_count_once_by_trade_id(stack) -> None:
    """Version 2 trade messages: two trades in the same millisecond both count, a repeated
    trade id does not (even with another time); the window's volume, notional and vwap are
    exact (bin/reconcile checks them against Kafka)."""
    config = stack.config
    now_ms = int(time.time() * 1000)

    def trade(trade_id: int, price: str, quantity: str, at: int) -> tuple[bytes, bytes]:
        body = {"schema_version": 2, "symbol": "BNBUSDT", "price": price, "event_time": at, "ingest_time": now_ms,
                "source": "test-ws", "trade_id": trade_id, "quantity": quantity}
        return b"BNBUSDT", json.dumps(body).encode()
    send(config, [trade(900_001, "650.5", "2", now_ms), trade(900_002, "651", "0.5", now_ms),
                  trade(900_001, "650.5", "2", now_ms + 1)])
    assert_mysql_matches_kafka(stack)
    window_ms = int(config.processor.window * 1000)
    row = query(config, "SELECT volume, notional, vwap FROM moving_averages WHERE symbol = 'BNBUSDT' "
                        "AND start_time = %s", (utc(now_ms - now_ms % window_ms),))
    assert row
    assert row[0][0] == Decimal("2.5")
    assert row[0][1] == Decimal("1626.5")
    assert row[0][2] == Decimal("650.600000000000")
    copies = query(config, "SELECT COUNT(*) FROM rejected_messages WHERE reason = 'duplicate' "
                           "AND raw_value LIKE %s", ('%"trade_id": 900001%',))
    assert copies == [(1,)]


def test_no_secret_in_any_log(stack) -> None:
    """The MySQL passwords appear in no log line of the run."""
    secrets = stack.secrets()
    logs = stack.all_logs()
    assert secrets
    assert logs
    assert not any(secret in logs for secret in secrets)


# --- Security, tried as a local user would, against the running stack -----------------------

# Names tried without a password on top of every account the server has.
LIKELY_NAMES = ("root", "admin", "mysql", "mariadb.sys", "cryptostream", "")


def test_no_account_logs_in_without_a_password(stack) -> None:
    """Every account the server has, and the usual names, refused without a password over TCP
    (127.0.0.1 and ::1) and through the server's socket."""
    accounts = stack.mysql_accounts()
    assert ("root", "localhost") in accounts
    names = sorted({user for user, _host in accounts} | set(LIKELY_NAMES))
    let_in = [f"{name!r} over {way}" for name in names for way, entered in stack.passwordless_logins(name).items()
              if entered]
    assert let_in == []


def test_into_outfile_is_refused_for_every_account(stack) -> None:
    """Neither the administrator nor the application account can write a file on the server's
    machine (secure_file_priv), so MySQL cannot be used to plant files as its OS user."""
    target = f"/tmp/cryptostream-outfile-{time.time_ns()}"
    for who, outcome in stack.into_outfile(target).items():
        assert outcome.startswith("refused"), f"{who}: {outcome}"
    assert not Path(target).exists()


def test_no_server_process_runs_as_root(stack) -> None:
    """MariaDB, Kafka, supervisord, producer, processor (and its JVM), the simulated exchange:
    none runs as root, even though the stack was started by root."""
    processes = stack.server_processes()
    assert len(processes) >= 5, processes
    assert [p for p in processes if p[0] == 0] == []


def test_no_password_on_a_command_line_or_in_an_environment(stack) -> None:
    """No process of the machine shows a MySQL password in its command line, and none of the
    stack's processes has one in its environment."""
    secrets = stack.secrets()
    assert secrets
    exposed = [(pid, where) for pid, where, text in stack.process_texts() if any(s in text for s in secrets)]
    assert exposed == []


@pytest.mark.badinput
def test_a_message_the_topic_refuses_is_logged_and_the_rest_flow(stack) -> None:
    """With the topic's max.message.bytes below a message's size, the broker refuses it for
    good: the publisher logs message_too_large with the size, drops and counts it, and the
    messages after it are published (no retry loop at the head of the queue)."""
    from kafka.admin import ConfigResource, ConfigResourceType
    from structlog.testing import capture_logs

    from cryptostream.pipeline.producer.publisher import Publisher
    from cryptostream.pipeline.schema import PriceMessage
    config = stack.config
    admin = KafkaAdminClient(bootstrap_servers=config.kafka.bootstrap_servers)
    topic = ConfigResource(ConfigResourceType.TOPIC, config.kafka.topic, configs={"max.message.bytes": "3000"})
    admin.alter_configs([topic])
    try:
        now_ms = int(time.time() * 1000)
        batch = [PriceMessage("BTCUSDT", "1.5", now_ms, now_ms, "test"),
                 # random digits: the producer compresses (gzip), and the limit applies after that
                 PriceMessage("BTCUSDT", "1" + "".join(random.choices("0123456789", k=12000)), now_ms + 1,
                              now_ms, "test"),
                 PriceMessage("BTCUSDT", "2.5", now_ms + 2, now_ms, "test")]
        publisher = Publisher(config)
        publisher.add(batch)
        with capture_logs() as events:
            deadline = time.monotonic() + 60
            while publisher.backlog and time.monotonic() < deadline:
                publisher.drain(wait=1)
        publisher.close()
    finally:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, config.kafka.topic,  # back to the default
                                            configs={"max.message.bytes": ("DELETE", None)})])
        admin.close()
    refused = [e for e in events if e["event"] == "message_too_large"]
    assert publisher.published == 2
    assert publisher.dropped == 1
    assert publisher.backlog == 0
    assert len(refused) == 1
    assert refused[0]["log_level"] == "error"
    assert refused[0]["size_bytes"] > 12000
    assert "max.message.bytes" in refused[0]["refused_by"]
    sent = {message.to_json() for message in batch}
    in_kafka = sorted(json.loads(m.value)["price"] for m in read_messages(config) if m.value in sent)
    assert in_kafka == ["1.5", "2.5"]  # its batch-mates went through, once each
    assert_mysql_matches_kafka(stack)
