"""Kafka settings for a private broker or an existing cluster, without starting Kafka: the
configuration keys, the topic ensure_topic creates, the node properties of the private broker
and of a local three-node cluster, and what the runbook commands leave to an external Kafka."""
from __future__ import annotations

from pathlib import Path

import pytest

from cryptostream.ops.deployment import NativeDeployment
from cryptostream.core.config import ConfigError, load
from cryptostream.ops.health import daily_check
from cryptostream.ops.repair import restart
from cryptostream.pipeline.topic import new_topic
from cryptostream.services.kafka_cluster import KafkaCluster, local_ports, settings
from cryptostream.services.kafka_server import private_node, random_uuid, server_properties

CLUSTER = {"CRYPTOSTREAM_KAFKA_PRIVATE_BROKER": "false", "CRYPTOSTREAM_KAFKA_REPLICATION_FACTOR": "3",
           "CRYPTOSTREAM_KAFKA_MIN_INSYNC_REPLICAS": "2",
           "CRYPTOSTREAM_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094"}


def properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


def test_defaults_are_a_private_single_broker() -> None:
    config = load(env={})
    assert config.kafka.private_broker is True
    assert (config.kafka.replication_factor, config.kafka.min_insync_replicas) == (1, 1)
    assert config.external_services == frozenset()


def test_an_external_cluster_is_configured_by_keys_alone() -> None:
    config = load(env=CLUSTER)
    assert config.kafka.private_broker is False
    assert (config.kafka.replication_factor, config.kafka.min_insync_replicas) == (3, 2)
    assert config.external_services == {"kafka"}
    both = load(env={**CLUSTER, "CRYPTOSTREAM_MYSQL_PRIVATE_INSTANCE": "false"})
    assert both.external_services == {"kafka", "mysql"}


@pytest.mark.parametrize("env, fragment", [
    ({"CRYPTOSTREAM_KAFKA_REPLICATION_FACTOR": "3"}, "kafka.replication_factor"),  # the private broker is one node
    ({**CLUSTER, "CRYPTOSTREAM_KAFKA_MIN_INSYNC_REPLICAS": "4"}, "kafka.min_insync_replicas"),
    ({**CLUSTER, "CRYPTOSTREAM_KAFKA_MIN_INSYNC_REPLICAS": "0"}, "kafka.min_insync_replicas"),
    ({"CRYPTOSTREAM_KAFKA_PRIVATE_BROKER": "perhaps"}, "kafka.private_broker"),
])
def test_impossible_replication_settings_name_their_key(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")):
        load(env=env)


def test_the_topic_demands_min_insync_replicas_only_when_asked() -> None:
    """1 leaves the brokers' own default in force; above 1 it is a topic config."""
    single = new_topic(load(env={}).kafka)
    assert (single.replication_factor, single.topic_configs) == (1, {"retention.ms": "86400000"})
    replicated = new_topic(load(env=CLUSTER).kafka)
    assert replicated.replication_factor == 3
    assert replicated.num_partitions == 3
    assert replicated.topic_configs == {"retention.ms": "86400000", "min.insync.replicas": "2"}


def test_private_broker_properties_are_a_single_loopback_node(tmp_path: Path) -> None:
    config = load(env={"CRYPTOSTREAM_HOME": str(tmp_path)})
    settings_ = properties(server_properties(config))
    assert settings_["node.id"] == "1"
    assert settings_["controller.quorum.bootstrap.servers"] == "127.0.0.1:9093"
    assert settings_["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert settings_["log.dirs"] == str(tmp_path / "kafka" / "data") == str(private_node(config).data)
    for key in ("default.replication.factor", "min.insync.replicas", "offsets.topic.replication.factor",
                "transaction.state.log.replication.factor", "transaction.state.log.min.isr"):
        assert settings_[key] == "1", key


def test_cluster_nodes_share_the_quorum_and_replicate_three_ways(tmp_path: Path) -> None:
    config = load(env={"CRYPTOSTREAM_HOME": str(tmp_path)})
    cluster = KafkaCluster(config, tmp_path / "cluster", local_ports(3, 19092))
    assert cluster.bootstrap_servers == "127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094"
    nodes = [properties(server_properties(config, node, cluster.nodes)) for node in cluster.nodes]
    assert [n["node.id"] for n in nodes] == ["1", "2", "3"]
    assert {n["controller.quorum.bootstrap.servers"] for n in nodes} == {"127.0.0.1:19192,127.0.0.1:19193,127.0.0.1:19194"}
    assert nodes[1]["listeners"] == "PLAINTEXT://127.0.0.1:19093,CONTROLLER://127.0.0.1:19193"
    assert nodes[1]["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19093"
    assert len({n["log.dirs"] for n in nodes}) == 3
    for node in nodes:
        assert node["default.replication.factor"] == node["offsets.topic.replication.factor"] == "3"
        assert node["transaction.state.log.replication.factor"] == "3"
        assert node["min.insync.replicas"] == node["transaction.state.log.min.isr"] == "2"
        assert "0.0.0.0" not in "".join(node.values())
    assert load(env=settings(cluster)).kafka.bootstrap_servers == cluster.bootstrap_servers


def test_generated_ids_are_kafka_uuids_safe_on_a_command_line() -> None:
    ids = {random_uuid() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 22 and not i.startswith("-") and not {"@", ":", ","} & set(i) for i in ids), ids


def test_runbook_leaves_an_external_kafka_alone(monkeypatch, capsys) -> None:
    """daily-check does not look for a kafka program; bin/restart all skips it and says so."""
    monkeypatch.setattr("cryptostream.core.config.load", lambda *a, **k: load(env=CLUSTER))
    names = [(component, check) for component, check, _ in daily_check.DailyCheck(NativeDeployment(load(env=CLUSTER))).checks()]
    assert ("kafka", "topic") in names
    assert ("kafka", "running") not in names
    assert ("kafka", "running") in [(c, k) for c, k, _ in daily_check.DailyCheck(NativeDeployment(load(env={}))).checks()]
    restarted = []
    monkeypatch.setattr(restart, "restart", lambda deployment, program, timeout: restarted.append(program) or 0.0)
    assert restart.main(["all", "--native"]) == 0
    assert restarted == ["mysql", "processor", "producer"]
    assert "kafka: external" in capsys.readouterr().out
