"""The 127.0.0.1 ports a stack's programs will listen on, checked before bin/up starts any
(natively or in containers, which share the host's network): a port another program holds
makes one of ours exit until supervisord gives up on it, which an operator would otherwise
learn a minute later from bin/logs."""
from __future__ import annotations

from cryptostream.core.config import Config
from cryptostream.core.ports import port_open
from cryptostream.ops.cli import CommandError


def planned(config: Config, simulated: bool, with_prometheus: bool, containers: bool = False) -> dict[str, int]:
    """{setting: port} of every server this start will run (port 0: metrics turned off); the
    container stack (`containers`) always runs its own Kafka and MySQL."""
    ports = {"metrics.producer_port": config.metrics.producer_port,
             "metrics.processor_port": config.metrics.processor_port,
             "dashboard.port": config.dashboard.port}
    if containers or config.kafka.private_broker:
        ports.update({"kafka.port": config.kafka.port, "kafka.controller_port": config.kafka.controller_port})
    if containers or config.mysql.private_instance:
        ports["mysql.port"] = config.mysql.port
    if simulated:
        ports.update({"simulator.port": config.simulator.port, "simulator.mirror_port": config.simulator.mirror_port,
                      "simulator.ws_port": config.simulator.ws_port})
    if with_prometheus:
        ports["metrics.prometheus_port"] = config.metrics.prometheus_port
    return {setting: port for setting, port in ports.items() if port}


def require_free(ports: dict[str, int]) -> None:
    """Raises naming every setting whose port is shared with another setting or already taken."""
    problems = []
    for port in sorted(set(ports.values())):
        settings = sorted(setting for setting, p in ports.items() if p == port)
        if len(settings) > 1:
            problems.append(f"{' and '.join(settings)} share port {port}")
        elif port_open(port):
            problems.append(f"{settings[0]} {port} is in use by another program")
    if problems:
        raise CommandError("cannot start: " + "; ".join(problems)
                           + " (set each in conf/cryptostream.ini or as CRYPTOSTREAM_<SECTION>_<KEY> to a free port)")
