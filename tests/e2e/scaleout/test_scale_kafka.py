"""The unchanged pipeline on a three-broker Kafka cluster it does not run itself.

A local KRaft cluster (services/kafka_cluster.py: three nodes, each broker and controller, on
free 127.0.0.1 ports) stands in for an existing cluster; bin/up --simulated runs MySQL, the
producer, the processor and the simulated exchange with kafka.private_broker = false, a topic
replicated three ways and min.insync.replicas 2 (the producer writes with acks=all). Results
must be exact, and stopping a broker mid-stream (SIGTERM, then kill -9) must lose and
duplicate nothing.
"""
from __future__ import annotations

import json
import time

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import KafkaError

from cryptostream.core.config import Config, load
from cryptostream.core.ports import free_port
from cryptostream.ops.reconcile import read_messages, reconcile
from cryptostream.pipeline.topic import end_offsets
from cryptostream.services.kafka_cluster import KafkaCluster
from tests.helpers.harness import PROJECT_DIR, wait_until_processed
from tests.helpers.stack import FAST_STACK, NativeStack, running

pytestmark = [pytest.mark.e2e, pytest.mark.scaleout]
SETTINGS = {**FAST_STACK, "processor_mysql_retries": "3", "exchange_read_timeout": "1s"}
OUTAGE = 15  # seconds of producing with one broker down


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    home = tmp_path_factory.mktemp("kafka-cluster")
    config = load(env={"CRYPTOSTREAM_HOME": str(home), "CRYPTOSTREAM_JARS_DIR": str(PROJECT_DIR / "var" / "jars")})
    ports = [free_port() for _ in range(6)]  # never the same one twice
    cluster = KafkaCluster(config, home, list(zip(ports[:3], ports[3:])))
    try:
        cluster.prepare()
        cluster.start()
        cluster.wait_ready(timeout=240)
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def stack(cluster, tmp_path_factory):
    yield from running(NativeStack(tmp_path_factory.mktemp("scale-kafka"), **SETTINGS,
                                   kafka_private_broker="false", kafka_bootstrap_servers=cluster.bootstrap_servers,
                                   kafka_replication_factor="3", kafka_min_insync_replicas="2"))


def admin(config: Config) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=config.kafka.bootstrap_servers, client_id="scale-test",
                            request_timeout_ms=10_000, bootstrap_timeout_ms=3_000)


def partitions(config: Config) -> dict[int, dict]:
    """The topic's partitions as the cluster describes them: leader, replicas, in-sync replicas."""
    client = admin(config)
    try:
        [topic] = client.describe_topics([config.kafka.topic])
        return {p["partition_index"]: p for p in topic["partitions"]}
    finally:
        client.close()


def topic_settings(config: Config) -> dict[str, str]:
    """The configs set on the topic itself (not broker defaults)."""
    client = admin(config)
    try:
        found = client.describe_configs([ConfigResource(ConfigResourceType.TOPIC, config.kafka.topic)])
        entries = found["topic"][config.kafka.topic]
        return {key: entry["value"] for key, entry in entries.items()}
    finally:
        client.close()


def wait_until(what: str, check, timeout: float) -> None:
    """Poll `check`; a Kafka error (the admin client asked the broker just stopped) means not yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except KafkaError:
            pass
        assert time.monotonic() < deadline, f"{what} not after {timeout:.0f}s"
        time.sleep(1)


def producer_events(stack: NativeStack, event: str) -> list[dict]:
    return [json.loads(line) for line in stack.log("producer").splitlines() if f'"event": "{event}"' in line]


def settle_and_account(stack: NativeStack) -> None:
    """Stop the producer, let the processor drain the topic, then: MySQL exact against Kafka, no
    price published twice, and every price the producer ever had acknowledged is in Kafka (it
    ended each run with nothing pending and dropped none)."""
    assert "stopped" in stack.ctl("stop", "producer")
    config = stack.config
    wait_until_processed(config, timeout=240)
    account = reconcile(config)
    assert account.exact, "\n".join(account.problems[:20])
    assert account.windows > 0
    keys = [(m.body["symbol"], m.body["event_time"]) for m in read_messages(config)]
    assert len(keys) == len(set(keys)), "a price was published twice"
    runs = producer_events(stack, "stopped")
    assert len(runs) == len(producer_events(stack, "started")), "the producer died on its own"
    assert all(run["pending"] == 0 for run in runs)
    assert producer_events(stack, "poll")[-1]["dropped_total"] == 0
    assert sum(run["published_total"] for run in runs) == len(keys) == sum(end_offsets(config).values())
    assert "started" in stack.ctl("start", "producer")


def test_exact_results_on_a_topic_replicated_three_ways(stack) -> None:
    """bin/up created the topic on the external cluster as configured; everything is accounted for."""
    config = stack.config
    described = partitions(config)
    assert sorted(described) == [0, 1, 2]
    assert all(sorted(p["replica_nodes"]) == [1, 2, 3] for p in described.values()), described
    assert topic_settings(config)["min.insync.replicas"] == "2"
    assert "infra:kafka" in stack.ctl("status")
    assert "STOPPED" in stack.ctl("status", "kafka")
    target = wait_until_processed(config)
    account = reconcile(config)
    assert account.exact, "\n".join(account.problems[:20])
    assert account.messages >= sum(target.values())
    assert account.windows > 0
    assert stack.run("reconcile").returncode == 0
    status = stack.run("status")
    assert status.returncode == 0, status.stdout + status.stderr


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "kill-9"])
def test_a_broker_stopped_mid_stream_loses_nothing(stack, cluster, kill: bool) -> None:
    """The leader of a partition stops while prices flow; the other two carry on (acks=all with
    two in sync), it comes back and catches up; nothing lost, nothing twice."""
    config = stack.config
    wait_until("producer running", lambda: "RUNNING" in stack.ctl("status", "producer"), 60)
    partition = 1 if kill else 0
    victim = partitions(config)[partition]["leader_id"]
    stopped_at = time.monotonic()
    cluster.stop(victim, kill=kill)
    # After kill -9 the controller fences the broker only when broker.session.timeout.ms runs
    # out, so how soon prices flow again is Kafka's to decide: wait for what it promises (a
    # new leader, then appends on the two brokers left), not for a rate over a fixed time.
    wait_until(f"a new leader for partition {partition}",
               lambda: partitions(config)[partition]["leader_id"] not in (victim, -1), 60)
    after_failover = sum(end_offsets(config).values())
    wanted = after_failover + 2 * len(config.exchange.symbols)
    wait_until("prices appended without the stopped broker",
               lambda: sum(end_offsets(config).values()) >= wanted, 60)
    assert not cluster.running(victim), f"broker {victim} came back by itself"
    time.sleep(max(0.0, OUTAGE - (time.monotonic() - stopped_at)))  # the outage lasts its full length
    cluster.start(victim)
    cluster.wait_ready(timeout=180)
    wait_until(f"broker {victim} back in sync",
               lambda: all(len(p["isr_nodes"]) == 3 for p in partitions(config).values()), 120)
    time.sleep(3)  # a few prices on the healed cluster
    settle_and_account(stack)
