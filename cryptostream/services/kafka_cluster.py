"""A local KRaft cluster of N nodes (each broker and controller) on 127.0.0.1: a stand-in for an
existing Kafka cluster that the pipeline does not run itself (kafka.private_broker = false).

The scale-out tests start one on free ports; by hand:

    .venv/bin/python -m cryptostream.services.kafka_cluster --nodes 3 --base-port 19092

runs brokers on 127.0.0.1:19092-19094 (controllers on 19192-19194, data in var/kafka-cluster)
until Ctrl-C, and prints the settings that point bin/up at it. Nodes are children of the
caller, not of supervisord. All share one cluster id and bootstrap the controller quorum from
the same --initial-controllers list (Kafka's dynamic quorum); a node's storage is formatted
once, so a stopped node restarts with its data (and the quorum keeps the ports it was formatted
with: delete the folder to change the ports or the number of nodes).
"""
from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from cryptostream.core import config as config_module
from cryptostream.core.config import Config
from cryptostream.core.polling import wait_for
from cryptostream.core.ports import port_open
from cryptostream.services.java import kafka_command
from cryptostream.services.kafka_server import Node, format_storage, server_properties, stored_uuid


class KafkaCluster:
    """The nodes of one cluster under `home` (node-1, node-2, ...), `ports` = (broker, controller)
    per node. Use prepare(), start(), wait_ready(); stop() or close() end them."""

    def __init__(self, config: Config, home: Path, ports: Sequence[tuple[int, int]], heap: str | None = None) -> None:
        self.config = config
        self.home = home
        self.heap = heap or config.kafka.heap
        self.nodes = [Node(number, port, controller, home / f"node-{number}")
                      for number, (port, controller) in enumerate(ports, start=1)]
        self.processes: dict[int, subprocess.Popen] = {}

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)

    def node(self, node_id: int) -> Node:
        return next(node for node in self.nodes if node.node_id == node_id)

    def prepare(self) -> None:
        """Write each node's server.properties; format the storage of nodes not formatted yet."""
        for node in self.nodes:
            node.data.mkdir(parents=True, exist_ok=True)
        cluster = stored_uuid(self.home / "cluster-id")
        voters = ",".join(f"{node.node_id}@127.0.0.1:{node.controller_port}:{stored_uuid(node.home / 'directory-id')}"
                          for node in self.nodes)
        for node in self.nodes:
            node.properties.write_text(server_properties(self.config, node, self.nodes))
            with open(node.home / "kafka.log", "ab") as log:
                format_storage(self.config, node, cluster, ["--initial-controllers", voters], log)

    def start(self, node_id: int | None = None) -> None:
        """Start one node, or every node not running."""
        for node in self.nodes if node_id is None else [self.node(node_id)]:
            if self.running(node.node_id):
                continue
            command = kafka_command(self.config, "kafka.Kafka", [str(node.properties)], f"kafka-{node.node_id}",
                                    heap=self.heap)
            with open(node.home / "kafka.log", "ab") as log:
                # its own session: a Ctrl-C of the caller reaches the caller, which then stops it
                self.processes[node.node_id] = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def running(self, node_id: int) -> bool:
        process = self.processes.get(node_id)
        return process is not None and process.poll() is None

    def stop(self, node_id: int, kill: bool = False, timeout: float = 60) -> None:
        """SIGTERM (controlled shutdown: its partitions get other leaders first) or, with kill,
        SIGKILL (a crash). Waits until it has exited; SIGKILL after `timeout`."""
        self._signal([node_id], signal.SIGKILL if kill else signal.SIGTERM)
        self._reap([node_id], timeout)

    def close(self, timeout: float = 30) -> None:
        """Stop every node at once (one by one, the last ones would wait for a lost quorum)."""
        started = list(self.processes)
        self._signal(started, signal.SIGTERM)
        self._reap(started, timeout)

    def _signal(self, node_ids: list[int], signum: int) -> None:
        for node_id in node_ids:
            if self.running(node_id):
                self.processes[node_id].send_signal(signum)

    def _reap(self, node_ids: list[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for node_id in node_ids:
            process = self.processes.pop(node_id, None)
            if process is None:
                continue
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)

    def active_brokers(self) -> set[int]:
        """Node ids of the brokers the controllers count as alive (registered, not fenced)."""
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap_servers, client_id="cryptostream-cluster",
                                 request_timeout_ms=5_000, bootstrap_timeout_ms=2_000)
        try:
            return {b["broker_id"] for b in admin.describe_cluster()["brokers"] if not b.get("is_fenced")}
        finally:
            admin.close()

    def wait_ready(self, timeout: float = 180) -> None:
        """Until every node runs, answers on its port and is an active broker; raises at once
        if a node process died."""
        expected = {node.node_id for node in self.nodes}

        def all_active() -> bool:
            dead = [node.node_id for node in self.nodes if not self.running(node.node_id)]
            if dead:
                raise RuntimeError(f"Kafka node(s) {dead} not running; see {self.home}/node-N/kafka.log")
            return all(port_open(node.port) for node in self.nodes) and self.active_brokers() >= expected
        wait_for("Kafka cluster", all_active, timeout, interval=1, retry=(KafkaError,),  # no broker answers yet
                 timed_out=lambda _: f"Kafka cluster at {self.bootstrap_servers} not ready after {timeout:.0f}s")


def local_ports(count: int, base_port: int) -> list[tuple[int, int]]:
    """Brokers on base_port, base_port + 1, ...; controllers 100 above them."""
    return [(base_port + i, base_port + 100 + i) for i in range(count)]


def settings(cluster: KafkaCluster) -> dict[str, str]:
    """The configuration that points the pipeline at `cluster`."""
    replicas = min(3, len(cluster.nodes))
    return {"CRYPTOSTREAM_KAFKA_PRIVATE_BROKER": "false",
            "CRYPTOSTREAM_KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap_servers,
            "CRYPTOSTREAM_KAFKA_REPLICATION_FACTOR": str(replicas),
            "CRYPTOSTREAM_KAFKA_MIN_INSYNC_REPLICAS": str(max(1, replicas - 1))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kafka_cluster", description="Run a local KRaft cluster until Ctrl-C.")
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--base-port", type=int, default=19092, help="first broker port (controllers: +100)")
    parser.add_argument("--home", type=Path, help="data and logs (default: var/kafka-cluster)")
    parser.add_argument("--heap", help="per node (default: kafka.heap)")
    args = parser.parse_args(argv)
    config = config_module.load()
    cluster = KafkaCluster(config, args.home or config.var_dir / "kafka-cluster",
                           local_ports(args.nodes, args.base_port), args.heap)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so the finally below stops the nodes
    try:
        cluster.prepare()
        cluster.start()
        cluster.wait_ready()
        print(f"Kafka cluster of {args.nodes} nodes at {cluster.bootstrap_servers}; logs in "
              f"{cluster.home}/node-N/kafka.log. Point the pipeline at it with:", flush=True)
        print(" ".join(f"{key}={value}" for key, value in settings(cluster).items()), flush=True)
        while all(cluster.running(node.node_id) for node in cluster.nodes):
            time.sleep(1)
        print("a node exited; stopping the cluster", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        cluster.close()


if __name__ == "__main__":
    sys.exit(main())
