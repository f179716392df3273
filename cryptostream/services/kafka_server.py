"""The private Kafka broker: single node, KRaft combined mode, listeners on 127.0.0.1 only.

Writes var/kafka/server.properties from the configuration at every start, formats the storage
on first start, then becomes the broker process (exec) so supervisord signals it directly.
"""
from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid

from cryptostream import config as config_module
from cryptostream.config import Config
from cryptostream.services.java import kafka_command


def server_properties(config: Config) -> str:
    kafka, data = config.kafka, config.var_dir / "kafka" / "data"
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{kafka.controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{kafka.port},CONTROLLER://127.0.0.1:{kafka.controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{kafka.port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data),
        "num.partitions": str(kafka.partitions),
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "log.retention.hours": str(max(1, int(kafka.retention // 3600))),
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def cluster_id(config: Config) -> str:
    """The cluster id, made once (Kafka's form: 16 random bytes, URL-safe base64, and like
    Kafka's own never starting with '-', which a command line would take for an option)."""
    path = config.var_dir / "kafka" / "cluster-id"
    if not path.exists():
        cluster = "-"
        while cluster.startswith("-"):
            cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        path.write_text(cluster + "\n")
    return path.read_text().strip()


def prepare(config: Config) -> str:
    """Write server.properties, format storage if new; returns the properties path."""
    home = config.var_dir / "kafka"
    (home / "data").mkdir(parents=True, exist_ok=True)
    properties = home / "server.properties"
    properties.write_text(server_properties(config))
    if not (home / "data" / "meta.properties").exists():
        format_args = ["format", f"--cluster-id={cluster_id(config)}", "-c", str(properties), "--standalone"]
        subprocess.run(kafka_command(config, "kafka.tools.StorageTool", format_args, "kafka-format"),
                       check=True)
    return str(properties)


def main() -> int:
    config = config_module.load()
    properties = prepare(config)
    command = kafka_command(config, "kafka.Kafka", [properties], "kafka", heap=config.kafka.heap)
    sys.stdout.flush()
    os.execv(command[0], command)
    return 1
