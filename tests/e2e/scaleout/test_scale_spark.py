"""Scale-out on an existing Spark: the unchanged processor on a standalone cluster.

A master and two workers (1 core each) from the installed pyspark on 127.0.0.1
(cryptostream/services/spark_cluster.py), then the native stack with only
processor.spark_master (and the executors' size) pointing at it. The results must be exact,
and losing a worker with its executor mid-stream must cost nothing: Spark reruns the lost
tasks on the other worker, and the sink commits each micro-batch once.
"""
from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Iterator

import pytest
from kafka import KafkaProducer

from cryptostream.core.config import load
from cryptostream.ops.reconcile import read_messages, reconcile
from cryptostream.core.polling import wait_for
from cryptostream.services import spark_cluster
from cryptostream.services.spark_cluster import SparkCluster
from cryptostream.core.ports import free_port
from tests.helpers.harness import query, wait_until_processed
from tests.helpers.stack import FAST_STACK, NativeStack, running

pytestmark = pytest.mark.scaleout
# as tests/e2e/test_faults.py: short windows, fast polling, quick MySQL retries
SETTINGS = {**FAST_STACK, "processor_mysql_retries": "3", "exchange_read_timeout": "1s"}
EXECUTOR_MEMORY_MB = 512
TEST_SOURCE = "scale-test"  # messages this file writes straight to the topic


def test_cluster_daemons_listen_on_loopback_only(tmp_path) -> None:
    """Master, workers and (through SPARK_LOCAL_IP) their executors and web UIs bind 127.0.0.1."""
    master = spark_cluster.master_command(7077, 8080)
    worker = spark_cluster.worker_command("spark://127.0.0.1:7077", 8081, tmp_path, cores=1, memory="1g")
    assert master[master.index("--host") + 1] == worker[worker.index("--host") + 1] == "127.0.0.1"
    assert spark_cluster.daemon_environment(tmp_path)["SPARK_LOCAL_IP"] == "127.0.0.1"
    assert (spark_cluster.spark_home() / "bin" / "spark-class").exists()
    assert any((spark_cluster.spark_home() / "jars").glob("spark-core_*.jar"))


def test_cluster_sizing_is_configuration_with_local_defaults() -> None:
    """executor_memory and cores_max default to Spark's own behaviour and are plain settings."""
    defaults = load(env={}).processor
    assert (defaults.spark_master, defaults.executor_memory, defaults.cores_max) == ("local[*]", "1g", 0)
    tuned = load(env={"CRYPTOSTREAM_PROCESSOR_SPARK_MASTER": "spark://127.0.0.1:7077",
                      "CRYPTOSTREAM_PROCESSOR_EXECUTOR_MEMORY": "512m",
                      "CRYPTOSTREAM_PROCESSOR_CORES_MAX": "2"}).processor
    assert (tuned.spark_master, tuned.executor_memory, tuned.cores_max) == ("spark://127.0.0.1:7077", "512m", 2)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[SparkCluster]:
    cluster = SparkCluster(tmp_path_factory.mktemp("spark-cluster"), workers=2, port=free_port(),
                           webui_port=free_port(), cores=1, memory="1g")
    try:
        cluster.start(timeout=120)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def stack(cluster, tmp_path_factory) -> Iterator[NativeStack]:
    # processor_one_task_below=0: every batch in several tasks (one per Kafka partition with
    # prices), so that a batch's tasks can run on both workers (a small batch would otherwise be
    # one task, on either)
    stack = NativeStack(tmp_path_factory.mktemp("scale-spark"), **SETTINGS, processor_spark_master=cluster.master_url,
                        processor_executor_memory=f"{EXECUTOR_MEMORY_MB}m", processor_cores_max="2",
                        processor_one_task_below="0")
    # Spark's event log, for the tests to see what became of each task; set the way any other
    # cluster setting can be: spark-defaults.conf in SPARK_CONF_DIR, read by pyspark's launcher
    conf_dir, events = stack.home / "spark-conf", stack.home / "spark-events"
    events.mkdir()
    conf_dir.mkdir()
    # spark.locality.wait 0: the Kafka source prefers one executor per partition (its consumer
    # cache), and Spark waits 3 s for a busy preferred executor, longer than these tasks take,
    # so every task would run on one worker; without the wait a batch's second task takes the
    # other worker's core at once
    (conf_dir / "spark-defaults.conf").write_text(
        f"spark.eventLog.enabled true\nspark.eventLog.dir file://{events}\n"
        "spark.eventLog.compress false\nspark.eventLog.rolling.enabled false\nspark.locality.wait 0s\n")
    stack.env["SPARK_CONF_DIR"] = str(conf_dir)
    yield from running(stack)


def spark_events(stack: NativeStack) -> list[dict]:
    """The processor application's Spark event log so far (complete lines)."""
    lines = [line for path in (stack.home / "spark-events").glob("app-*") for line in path.read_text().splitlines()]
    return [json.loads(line) for line in lines if line.endswith("}")]


def wait_for_executors(cluster: SparkCluster, workers: int, timeout: float = 120) -> tuple[dict, dict]:
    """The processor's application and its executors per worker, once `workers` workers run one."""
    found: dict = {}

    def spread() -> bool:
        app = cluster.running_app()
        found.update(app=app, executors=cluster.executors_by_worker(app["id"]) if app else {})
        return sum(1 for executors in found["executors"].values() if executors) >= workers
    wait_for(f"the processor's executors on {workers} workers", spread, timeout, interval=1)
    return found["app"], found["executors"]


def send(stack: NativeStack, values: list[bytes]) -> None:
    config = stack.config
    producer = KafkaProducer(bootstrap_servers=config.kafka.bootstrap_servers)
    for value in values:
        producer.send(config.kafka.topic, key=b"SOLUSDT", value=value)
    producer.flush()
    producer.close()


def assert_exact(stack: NativeStack, timeout: float = 120) -> None:
    """Everything now in the topic applied, and every message accounted for exactly."""
    target = wait_until_processed(stack.config, timeout=timeout)
    account = reconcile(stack.config)
    assert account.exact, "\n".join(account.problems[:20])
    assert account.windows > 0
    assert account.messages >= sum(target.values())


@pytest.mark.e2e
def test_processor_runs_on_both_workers_with_exact_results(cluster, stack) -> None:
    """The processor's Spark application runs on the cluster with an executor on each worker,
    sized by the configuration; the Kafka connector reaches the executors, which need no Python
    (even dropping a repeated delivery runs in the JVM); MySQL matches Kafka exactly."""
    app, executors = wait_for_executors(cluster, workers=2)
    assert app["cores"] == 2 and app["memoryperexecutor"] == EXECUTOR_MEMORY_MB, app
    assert all(e["memory"] == EXECUTOR_MEMORY_MB for found in executors.values() for e in found), executors
    started = [json.loads(line) for line in stack.log("processor").splitlines() if '"event": "started"' in line]
    assert started
    assert started[-1]["spark_master"] == cluster.master_url
    now_ms = int(time.time() * 1000)
    copy = json.dumps({"schema_version": 1, "symbol": "SOLUSDT", "price": "150.25000000", "event_time": now_ms,
                       "ingest_time": now_ms, "source": TEST_SOURCE}).encode()
    send(stack, [copy, copy])  # one price twice in a batch: the processor's second pass
    assert_exact(stack)
    duplicates = query(stack.config, "SELECT raw_value FROM rejected_messages WHERE reason = 'duplicate'")
    assert any(json.loads(raw)["source"] == TEST_SOURCE for (raw,) in duplicates)
    assert not python_workers(cluster), "an executor started Python: a cluster would need it installed"
    assert cluster.running_app()["id"] == app["id"]  # the same application throughout


def python_workers(cluster: SparkCluster) -> list[str]:
    """Workers whose executor started a PySpark Python daemon (which leads a group of its own)."""
    executors = {pid: worker.name for worker in cluster.workers for pid in executor_pids(worker)}
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            command, parent = (entry / "cmdline").read_bytes(), stat_fields(int(entry.name))[1]
        except OSError:  # exited meanwhile
            continue
        if b"pyspark.daemon" in command and int(parent) in executors:
            found.append(executors[int(parent)])
    return found


def executor_pids(worker: spark_cluster.Daemon) -> list[int]:
    return [pid for pid, command in worker.group().items() if b"CoarseGrainedExecutorBackend" in command]


def stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat from its third field (state, ppid, ...) on."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def task_of(task_end: dict) -> tuple[int, int, str]:
    """(stage, partition index, executor) of a SparkListenerTaskEnd event."""
    return task_end["Stage ID"], task_end["Task Info"]["Index"], task_end["Task Info"]["Executor ID"]


def task_executors(stack: NativeStack) -> set[str]:
    """The executors that have run a task of the processor so far."""
    return {task_of(e)[2] for e in spark_events(stack) if e["Event"] == "SparkListenerTaskEnd"}


def processor_batches(stack: NativeStack) -> list[dict]:
    return [json.loads(line) for line in stack.log("processor").splitlines() if '"event": "batch"' in line]


@pytest.mark.e2e
@pytest.mark.fault
def test_worker_killed_mid_stream_loses_nothing(cluster, stack) -> None:
    """kill -9 of a worker and its executor, with tasks in flight, while prices flow: the same
    driver carries on on the other worker (the lost tasks rerun there, no micro-batch fails),
    and nothing is lost or counted twice."""
    app, _ = wait_for_executors(cluster, workers=2)
    wait_for("a micro-batch's tasks on both workers' executors", lambda: len(task_executors(stack)) == 2, 120,
             interval=1)
    processor_pid = int(stack.ctl("pid", "processor").strip())
    batches_before = len(processor_batches(stack))
    # freeze worker-2 and its executor first, so it surely dies with tasks of a micro-batch in
    # flight (the driver keeps handing it tasks until it is lost), then kill -9 them all
    cluster.workers[1].kill(signal.SIGSTOP)
    time.sleep(3)
    cluster.kill_worker(1)
    wait_for("the master to notice the lost worker", lambda: len(cluster.alive_workers()) == 1, 120)
    # prices keep flowing onto a cluster of one worker: micro-batches go on there (how fast
    # depends on the machine's load, so wait for them rather than count them in a fixed time)
    wait_for("6 micro-batches on the surviving worker", lambda: len(processor_batches(stack)) > batches_before + 5,
             180, interval=1)
    assert int(stack.ctl("pid", "processor").strip()) == processor_pid, "the processor was restarted"
    assert cluster.running_app()["id"] == app["id"]
    survivors = cluster.executors_by_worker(app["id"])
    assert list(survivors) == ["worker-1"] and survivors["worker-1"], survivors
    assert "Lost executor" in stack.log("processor")  # Spark saw the executor go
    ended = [e for e in spark_events(stack) if e["Event"] == "SparkListenerTaskEnd"]
    lost = [task_of(e) for e in ended if e["Task End Reason"]["Reason"] == "ExecutorLostFailure"]
    assert lost, "no task was in flight on the lost executor"
    succeeded = [task_of(e) for e in ended if e["Task End Reason"]["Reason"] == "Success"]
    for stage, index, executor in lost:  # each lost task succeeded later on the surviving executor
        assert any(t[:2] == (stage, index) and t[2] != executor for t in succeeded), (stage, index, executor)
    results = [e["Job Result"] for e in spark_events(stack) if e["Event"] == "SparkListenerJobEnd"]
    assert all(r["Result"] == "JobSucceeded" for r in results), results  # lost tasks rerun: no batch failed
    assert "stopped" in stack.ctl("stop", "producer")
    assert_exact(stack, timeout=240)
    bodies = [m.body for m in read_messages(stack.config)]
    keys = [(b["symbol"], b["event_time"]) for b in bodies if b["source"] != TEST_SOURCE]
    assert len(keys) == len(set(keys)), "the producer published a price twice"
