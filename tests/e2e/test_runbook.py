"""The runbook commands against the real stacks, native and containers, with one test body per
command: each check in the healthy state and in the broken state it exists to catch (Kafka
stopped, the processor stopped under its supervisord, MySQL stopped, the exchange
rate-limiting); the same exit codes and --json shape on both; backup -> restore round trip.
The commands find the stack themselves (auto-detection); the tests break it through the
Deployment (cryptostream/ops/deployment), as an operator's tools would."""
from __future__ import annotations

import json
import re
import subprocess
import time

import pytest
import requests
from kafka import KafkaProducer

from cryptostream.ops import programs
from cryptostream.ops.health.probes.log_events import log_events, warm_batches
from cryptostream.ops.stack.provisioning import TABLES
from cryptostream.pipeline import topic
from tests.helpers.harness import PROJECT_DIR, query, wait_until_processed
from tests.helpers.stack import BOTH_STACKS, FAST_STACK, NativeStack, started
from tests.helpers.waiting import wait_until

pytestmark = pytest.mark.e2e
AGAIN = {"late_again_ms", "dedup_again_ms"}  # a batch line's second passes
ROW_COLUMNS = ("symbol, start_time, end_time, average_price, min_price, max_price, open_price, close_price, "
               "sample_count, price_sum, first_event_time, last_event_time, newest_ingest_time, created_at, "
               "updated_at")
SETTINGS = {**FAST_STACK, "checks_freshness": "15s", "checks_lag_warn": "150"}


@pytest.fixture(scope="module", params=BOTH_STACKS)
def stack(request, tmp_path_factory):
    yield from started(request.param, tmp_path_factory.mktemp(f"runbook-{request.param}"), **SETTINGS)


def check(stack: NativeStack, command: str = "daily-check") -> tuple[int, dict[tuple[str, str], str]]:
    """Run a check command with --json; (exit code, {(component, check): status})."""
    result = stack.run(command, "--json", timeout=120)
    report = json.loads(result.stdout)
    if command != "status":  # status exits on program states alone
        assert report["status"] == ("OK", "WARN", "FAIL", "UNKNOWN")[result.returncode]
    return result.returncode, {(r["component"], r["check"]): r["status"] for r in report["results"]}


def admin_sql(stack: NativeStack, *statements: str) -> int:
    """Run statements on the live database as the stack's administrator; the last inserted id."""
    rows = stack.deployment.admin_sql(f"USE `{stack.config.mysql.database}`", *statements, "SELECT LAST_INSERT_ID()")
    return int(rows[-1][0])


def control(stack: NativeStack, action: str, program: str) -> None:
    """Stop or start a program or service as the runbook would: supervisord natively, inside the
    app container for producer and processor, the kafka or mysql container itself."""
    result = stack.deployment.control(action, program)
    assert result.returncode == 0, result.stdout + result.stderr


def test_healthy_stack_passes_every_check(stack) -> None:
    """On a healthy stack daily-check, check-alerts and status all exit 0 with every check OK."""
    time.sleep(5)  # a few batches for the duration percentile
    for command in ("daily-check", "check-alerts", "status", "weekly-check"):
        code, statuses = check(stack, command)
        assert code == 0 and set(statuses.values()) == {"OK"}, \
            (command, {k: v for k, v in statuses.items() if v != "OK"}, stack.run(command).stdout)  # the details
    listed = stack.run("supervisorctl", "status")  # optional programs not asked for are not listed as STOPPED
    assert listed.returncode == 0, listed.stdout
    table = stack.run("daily-check").stdout
    assert "overall: OK (exit 0)" in table
    assert "lag" in table
    # warm batches reuse their compiled code (a late or duplicate price's second pass may not)
    warm = list(warm_batches(log_events(stack.deployment, programs.PROCESSOR, 0.25)))
    assert warm and [b for b in warm if b.get("code_compilations") and not b.keys() & AGAIN] == [], warm


def test_corrupted_message_fails_the_weekly_schema_check(stack) -> None:
    """A message on the topic that breaks the schema is reported by weekly-check, with its offset."""
    producer = KafkaProducer(bootstrap_servers=stack.config.kafka.bootstrap_servers)
    producer.send(stack.config.kafka.topic, key=b"BTCUSDT", value=b'{"schema_version": 1, "symbol": "BTCUSDT"}')
    producer.flush()
    producer.close()
    code, statuses = check(stack, "weekly-check")
    assert code == 2
    assert statuses[("schema", "kafka messages")] == "FAIL"
    assert statuses[("schema", "mysql tables")] == "OK"
    assert statuses[("schema", "spark schema")] == "OK"
    wait_until_processed(stack.config)
    assert check(stack, "weekly-check")[1][("logs", "serialization errors")] == "WARN"  # it was rejected


def test_table_drift_fails_the_weekly_schema_check(stack) -> None:
    """A live column whose type no longer matches sql/schema.sql is reported."""
    admin_sql(stack, "ALTER TABLE stream_progress MODIFY offsets VARCHAR(2000) NOT NULL")
    try:
        statuses = check(stack, "weekly-check")[1]
        assert statuses[("schema", "mysql tables")] == "FAIL"
    finally:
        admin_sql(stack, "ALTER TABLE stream_progress MODIFY offsets TEXT NOT NULL")
    assert check(stack, "weekly-check")[1][("schema", "mysql tables")] == "OK"


def test_duplicate_rows_fail_the_mysql_check(stack) -> None:
    """A window stored twice (possible where the unique key is missing) is a MySQL failure."""
    copy = admin_sql(stack, "ALTER TABLE moving_averages DROP INDEX uq_moving_averages_window",
                     f"INSERT INTO moving_averages ({ROW_COLUMNS}) SELECT {ROW_COLUMNS} FROM moving_averages "
                     "ORDER BY id LIMIT 1")
    try:
        code, statuses = check(stack)
        assert code == 2
        assert statuses[("mysql", "duplicates")] == statuses[("mysql", "account")] == "FAIL"
    finally:
        admin_sql(stack, f"DELETE FROM moving_averages WHERE id = {int(copy)}",
                  "ALTER TABLE moving_averages ADD UNIQUE KEY uq_moving_averages_window (symbol, start_time, end_time)")
    assert check(stack)[1][("mysql", "duplicates")] == "OK"


def test_corrupted_rows_fail_the_mysql_check(stack) -> None:
    """A window not aligned to the window length, with a non-positive price, is reported."""
    admin_sql(stack, f"INSERT INTO moving_averages ({ROW_COLUMNS}) VALUES ('BTCUSDT', '2020-01-01 00:00:03', "
                     "'2020-01-01 00:00:08', -1, -1, 1, 1, 1, 1, 1, '2020-01-01 00:00:03', '2020-01-01 00:00:03', "
                     "'2020-01-01 00:00:03', UTC_TIMESTAMP(), UTC_TIMESTAMP())")
    try:
        code, statuses = check(stack)
        assert code == 2
        assert statuses[("mysql", "corrupted")] == statuses[("mysql", "account")] == "FAIL"
    finally:
        admin_sql(stack, "DELETE FROM moving_averages WHERE start_time = '2020-01-01 00:00:03'")


def test_wrong_figures_fail_the_account_check(stack) -> None:
    """A closed window whose count and sum no longer match Kafka looks sane row by row; only
    the account against Kafka (bin/reconcile) catches it."""
    oldest = "ORDER BY start_time, symbol LIMIT 1"  # one row: every symbol has a window at the oldest start
    # whole numbers, so that taking them off again restores the row exactly (price_sum keeps 8
    # decimals: adding and taking off average_price could round it by 1e-8)
    admin_sql(stack, f"UPDATE moving_averages SET sample_count = sample_count + 1, price_sum = price_sum + 1 {oldest}")
    try:
        code, statuses = check(stack)
        assert code == 2
        assert statuses[("mysql", "account")] == "FAIL"
        assert statuses[("mysql", "corrupted")] == statuses[("mysql", "duplicates")] == "OK"
        assert "sample_count" in stack.run("reconcile").stdout
    finally:
        admin_sql(stack, f"UPDATE moving_averages SET sample_count = sample_count - 1, price_sum = price_sum - 1 {oldest}")
    assert check(stack)[1][("mysql", "account")] == "OK"


def test_rate_limits_warn_about_the_producer(stack) -> None:
    """429 answers from the exchange show as a producer API warning in daily-check and check-alerts."""
    faults = f"http://127.0.0.1:{stack.config.simulator.port}/sim/faults"
    requests.post(faults, json={"mode": "rate_limit", "retry_after": 1, "count": 2}, timeout=5).raise_for_status()
    time.sleep(4)
    assert check(stack)[1][("producer", "api")] == "WARN"
    assert check(stack, "check-alerts")[1][("producer", "api")] == "WARN"


def test_stopped_processor_shows_as_lag_and_restart_heals_it(stack) -> None:
    """With the processor stopped the lag grows past its threshold; bin/restart brings it back."""
    assert "stopped" in stack.ctl("stop", "processor")
    stopped_at = sum(topic.end_offsets(stack.config).values())  # its checkpoint is at most here
    wait_until(lambda: sum(topic.end_offsets(stack.config).values()) - stopped_at > int(SETTINGS["checks_lag_warn"]),
               "the topic to grow past the lag threshold", timeout=60, interval=0.5)
    code, statuses = check(stack)
    assert code == 2
    assert statuses[("spark", "running")] == "FAIL"
    assert statuses[("spark", "lag")] == "WARN"
    assert check(stack, "check-alerts")[1][("spark", "lag")] == "WARN"
    status = stack.run("status")
    assert status.returncode == 2
    assert "processor" in status.stdout
    assert "STOPPED" in status.stdout
    restarted = stack.run("restart", "processor", timeout=300)
    assert restarted.returncode == 0 and "processor: healthy again" in restarted.stdout, restarted.stdout
    wait_until_processed(stack.config)
    assert check(stack)[1][("spark", "lag")] == "OK"


def test_stopped_kafka_fails_naming_kafka(stack) -> None:
    """Kafka down: daily-check exits 2 and names Kafka; bin/restart kafka waits until it serves again."""
    control(stack, "stop", "kafka")
    code, statuses = check(stack)
    assert code == 2
    assert statuses[("kafka", "topic")] == "FAIL"
    assert statuses[("kafka", "running")] == "FAIL"
    restarted = stack.run("restart", "kafka", timeout=300)
    assert restarted.returncode == 0 and "kafka: healthy again" in restarted.stdout, restarted.stdout
    assert check(stack)[1][("kafka", "topic")] == "OK"


def test_stopped_mysql_fails_naming_mysql(stack) -> None:
    """MySQL down: the MySQL checks fail; after bin/restart mysql rows are written again."""
    control(stack, "stop", "mysql")
    code, statuses = check(stack)
    assert code == 2
    assert statuses[("mysql", "new rows")] == "FAIL"
    deadline = time.monotonic() + 60  # the processor's next batch meets the outage and retries
    while '"mysql_retry"' not in stack.log("processor"):
        assert time.monotonic() < deadline, "the processor never retried a MySQL write"
        time.sleep(2)
    assert check(stack, "check-alerts")[1][("mysql", "write failures")] == "FAIL"
    restarted = stack.run("restart", "mysql", timeout=300)
    assert restarted.returncode == 0 and "mysql: healthy again" in restarted.stdout, restarted.stdout
    deadline = time.monotonic() + 180
    while check(stack)[1][("mysql", "new rows")] != "OK":
        assert time.monotonic() < deadline, "no new rows after MySQL came back"
        time.sleep(5)


def test_backup_restore_round_trip_equals_the_source(stack) -> None:
    """bin/backup then bin/restore into another database gives the same rows, table by table."""
    assert "stopped" in stack.ctl("stop", "producer")
    wait_until_processed(stack.config)
    made = stack.run("backup", "--keep", "2")
    assert made.returncode == 0, made.stderr
    path = made.stdout.splitlines()[0]
    restored = stack.run("restore", path, "--database", "round_trip")
    assert restored.returncode == 0, restored.stderr
    for table in TABLES:
        copies = [table_rows(stack, database, table) for database in ("crypto_streaming", "round_trip")]
        assert copies[0] == copies[1], table
        assert table != "moving_averages" or copies[0]
    assert "started" in stack.ctl("start", "producer")


def table_rows(stack: NativeStack, database: str, table: str) -> list[list[str]]:
    """Every row of a table as the MySQL client prints it, as the stack's administrator."""
    return stack.deployment.admin_sql(f"SELECT * FROM `{database}`.`{table}` ORDER BY 1, 2, 3, 4")


def processed_by_stats(stack: NativeStack) -> tuple[int, int]:
    """(messages the processor's statistics count, messages its committed offsets cover)."""
    counted = query(stack.config, "SELECT COALESCE(SUM(samples), 0) FROM pipeline_stats WHERE program = 'processor' "
                                  "AND metric = 'messages'")[0][0]
    offsets = json.loads(query(stack.config, "SELECT offsets FROM stream_progress")[0][0])
    return int(counted), sum(sum(partitions.values()) for partitions in offsets.values())


def test_the_live_stack_fills_pipeline_stats(stack) -> None:
    """Producer and processor write their per-minute figures as they run: the producer's requests,
    latencies, acknowledgements and start, the processor's batches, writes, lag and start; the
    processor's message count equals every offset it committed (exactly once, its transaction)."""
    wait_until_processed(stack.config)
    found = {(program, metric): samples for program, metric, samples in query(
        stack.config, "SELECT program, metric, SUM(samples) FROM pipeline_stats GROUP BY program, metric")}
    for key in (("producer", "api_latency_s"), ("producer", "published"), ("producer", "starts"),
                ("processor", "messages"), ("processor", "windows_written"), ("processor", "mysql_write_s"),
                ("processor", "batch_duration_s"), ("processor", "lag_messages"), ("processor", "starts")):
        assert found.get(key, 0) > 0, f"no {key} in pipeline_stats: {found}"
    assert found[("processor", "starts")] >= 1
    assert found[("producer", "starts")] >= 1
    rejects = {metric: n for (program, metric), n in found.items() if metric.startswith("rejected.")}
    assert sum(rejects.values()) >= 1, f"the corrupted message test's reject is not counted: {found}"
    assert "stopped" in stack.ctl("stop", "producer")
    try:
        wait_until_processed(stack.config)
        counted, committed = processed_by_stats(stack)
        assert counted == committed, f"pipeline_stats counts {counted} messages, the offsets {committed}"
    finally:
        assert "started" in stack.ctl("start", "producer")


def test_monthly_report_has_figures_and_plots(stack, tmp_path) -> None:
    """The monthly report states performance and capacity figures, each with its source, and draws
    its PNG plots; its message count is the one in pipeline_stats."""
    before = window_count(stack)
    counted_before = processed_by_stats(stack)[0]
    made = stack.run("monthly-report", "--output", str(tmp_path), timeout=300)
    assert made.returncode == 0, made.stderr
    text = (tmp_path / "report.md").read_text()
    assert "## 5.2 Performance" in text
    assert "## 5.3 Capacity" in text
    assert "unavailable" not in text
    rows = [line for line in text.splitlines() if line.startswith("| 20")]  # | <day> | <new windows> |
    assert before <= sum(int(line.split("|")[2]) for line in rows) <= window_count(stack)  # the producer runs on
    processed = next(line for line in text.splitlines() if line.startswith("| messages processed |"))
    assert counted_before <= int(processed.split("|")[2]) <= processed_by_stats(stack)[0], processed
    assert processed.rstrip(" |").endswith("pipeline_stats: processor messages"), processed
    for image in ("throughput.png", "batch-duration.png", "mysql-write.png", "api-latency.png", "lag.png",
                  "latency.png", "table-growth.png"):
        assert f"]({image})" in text, f"no {image} in the report"
        assert (tmp_path / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (tmp_path / image).with_suffix(".csv").read_text().startswith("series,x,y"), image
    for program in ("kafka", "mysql", "producer", "processor"):
        assert f"| {program} | RUNNING |" in text or f"| {program} | STARTING |" in text


def test_rebuild_recomputes_every_window_from_kafka(stack) -> None:
    """bin/rebuild --yes empties the tables and the processor recomputes them exactly from Kafka."""
    assert "stopped" in stack.ctl("stop", "producer")
    wait_until_processed(stack.config)
    refused = stack.run("rebuild")
    assert refused.returncode == 2
    assert "--yes" in refused.stderr
    before = rows_of(stack)
    done = stack.run("rebuild", "--yes", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    wait_until_processed(stack.config, timeout=180)
    assert rows_of(stack) == before
    assert "started" in stack.ctl("start", "producer")


def window_count(stack: NativeStack) -> int:
    return query(stack.config, "SELECT COUNT(*) FROM moving_averages")[0][0]


def rows_of(stack: NativeStack) -> list[tuple]:
    return query(stack.config, "SELECT symbol, start_time, end_time, average_price, min_price, max_price, "
                               "open_price, close_price, sample_count, price_sum FROM moving_averages "
                               "ORDER BY symbol, start_time")


SAFE_DOC_COMMANDS = re.compile(r"^bin/(status|daily-check|weekly-check|check-alerts|supervisorctl status|"
                               r"kafka-topics|mysql -e|logs --no-follow)\b")


def documented_commands() -> list[str]:
    """The read-only bin/ commands of the runbook and playbook code blocks, as written, each once
    (the playbook repeats bin/daily-check in most of its sections)."""
    commands = []
    for doc in ("RUNBOOK.md", "INCIDENT_PLAYBOOK.md"):
        text = (PROJECT_DIR / "docs" / doc).read_text()
        for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL):
            for line in block.splitlines():
                command = re.sub(r"\s+#.*$", "", line).strip()
                if SAFE_DOC_COMMANDS.match(command) and command not in commands:
                    commands.append(command)
    return commands


def test_documented_commands_run_as_written(stack) -> None:
    """Every read-only command the runbook docs show runs on the live stack without a usage error."""
    commands = documented_commands()
    assert len(commands) >= 10
    for command in commands:
        result = subprocess.run(["bash", "-c", command.replace("localhost:9092", stack.config.kafka.bootstrap_servers)],
                                cwd=PROJECT_DIR, env=stack.env, capture_output=True, text=True, timeout=120)
        # supervisorctl status too: the optional programs not asked for are not defined, not STOPPED
        assert result.returncode in (0, 1, 2), \
            (command, result.stdout[-500:], result.stderr[-500:])
        assert "usage:" not in result.stderr and "unrecognized" not in result.stderr, (command, result.stderr[-500:])
