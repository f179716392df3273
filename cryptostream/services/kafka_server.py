"""The private Kafka broker: single node, KRaft combined mode, listeners on 127.0.0.1 only.

Writes var/kafka/server.properties from the configuration at every start, formats the storage
on first start, then becomes the broker process (exec) so supervisord signals it directly.
The node settings are shared with services/kafka_cluster.py, which runs several such nodes.
"""
from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Sequence

from cryptostream.core import config as config_module
from cryptostream.core.config import Config
from cryptostream.services.java import kafka_command


@dataclass(frozen=True)
class Node:
    """One KRaft node (broker and controller in one process) on 127.0.0.1."""
    node_id: int
    port: int
    controller_port: int
    home: Path  # server.properties and data/

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def properties(self) -> Path:
        return self.home / "server.properties"


def private_node(config: Config) -> Node:
    kafka = config.kafka
    return Node(1, kafka.port, kafka.controller_port, config.var_dir / "kafka")


def server_properties(config: Config, node: Node | None = None, quorum: Sequence[Node] = ()) -> str:
    """The node's server.properties; `quorum` is every node of the cluster (default: just this
    one). Internal topics get min(3, nodes) replicas and need all but one of them in sync."""
    kafka, node = config.kafka, node or private_node(config)
    quorum = quorum or (node,)
    replicas = min(3, len(quorum))
    min_isr = str(max(1, replicas - 1))
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.bootstrap.servers": ",".join(f"127.0.0.1:{n.controller_port}" for n in quorum),
        "listeners": f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(node.data),
        "num.partitions": str(kafka.partitions),
        "default.replication.factor": str(replicas),
        "min.insync.replicas": min_isr,
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": str(replicas),
        "transaction.state.log.replication.factor": str(replicas),
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": str(replicas),
        "share.coordinator.state.topic.min.isr": min_isr,
        "group.initial.rebalance.delay.ms": "0",
        "log.retention.hours": str(max(1, int(kafka.retention // 3600))),
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def random_uuid() -> str:
    """An id in Kafka's form (16 random bytes, URL-safe base64), and like Kafka's own never
    starting with '-', which a command line would take for an option."""
    made = "-"
    while made.startswith("-"):
        made = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    return made


def stored_uuid(path: Path) -> str:
    """The id kept in `path`, made on first use: a node's storage is formatted with it once."""
    if not path.exists():
        path.write_text(random_uuid() + "\n")
    return path.read_text().strip()


def cluster_id(config: Config) -> str:
    return stored_uuid(config.var_dir / "kafka" / "cluster-id")


def format_storage(config: Config, node: Node, cluster: str, quorum_args: list[str],
                   output: IO | None = None) -> None:
    """Format the node's storage unless done before (`quorum_args`: how the controller quorum
    is bootstrapped, e.g. --standalone); the tool's output goes to `output`, or ours."""
    if (node.data / "meta.properties").exists():
        return
    args = ["format", f"--cluster-id={cluster}", "-c", str(node.properties), *quorum_args]
    subprocess.run(kafka_command(config, "kafka.tools.StorageTool", args, "kafka-format"), check=True,
                   stdout=output, stderr=subprocess.STDOUT if output else None)


def prepare(config: Config) -> str:
    """Write server.properties, format storage if new; returns the properties path."""
    node = private_node(config)
    node.data.mkdir(parents=True, exist_ok=True)
    node.properties.write_text(server_properties(config, node))
    format_storage(config, node, cluster_id(config), ["--standalone"])
    return str(node.properties)


def main() -> int:
    config = config_module.load()
    properties = prepare(config)
    command = kafka_command(config, "kafka.Kafka", [properties], "kafka", heap=config.kafka.heap)
    sys.stdout.flush()
    os.execv(command[0], command)
    return 1
