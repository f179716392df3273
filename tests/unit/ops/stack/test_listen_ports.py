"""bin/up refuses at once, naming the setting, when a port its programs need is taken or shared."""
from __future__ import annotations

import socket

import pytest

from cryptostream.core.config import load
from cryptostream.core.ports import free_port
from cryptostream.ops.cli import CommandError
from cryptostream.ops.stack import listen_ports


def configured(tmp_path, **settings: str):
    ports = {f"CRYPTOSTREAM_{name}": str(free_port()) for name in (
        "KAFKA_PORT", "KAFKA_CONTROLLER_PORT", "MYSQL_PORT", "SIMULATOR_PORT", "SIMULATOR_MIRROR_PORT",
        "SIMULATOR_WS_PORT", "METRICS_PRODUCER_PORT", "METRICS_PROCESSOR_PORT", "METRICS_PROMETHEUS_PORT",
        "DASHBOARD_PORT")}
    return load(env={"CRYPTOSTREAM_HOME": str(tmp_path), **ports, **settings})


def test_free_ports_pass_and_only_the_servers_this_start_runs_are_planned(tmp_path) -> None:
    config = configured(tmp_path, CRYPTOSTREAM_METRICS_PROCESSOR_PORT="0")
    plain = listen_ports.planned(config, simulated=False, with_prometheus=False)
    assert set(plain) == {"metrics.producer_port", "dashboard.port", "kafka.port", "kafka.controller_port",
                          "mysql.port"}  # the processor's metrics are off
    everything = listen_ports.planned(config, simulated=True, with_prometheus=True)
    assert {"simulator.port", "simulator.ws_port", "metrics.prometheus_port"} <= set(everything)
    listen_ports.require_free(everything)


def test_a_port_another_program_listens_on_is_named(tmp_path) -> None:
    config = configured(tmp_path)
    with socket.socket() as other:
        other.bind(("127.0.0.1", config.metrics.producer_port))
        other.listen()
        with pytest.raises(CommandError, match=f"metrics.producer_port {config.metrics.producer_port} is in use"):
            listen_ports.require_free(listen_ports.planned(config, simulated=True, with_prometheus=False))


def test_two_settings_on_one_port_are_named(tmp_path) -> None:
    port = str(free_port())
    shared = configured(tmp_path, CRYPTOSTREAM_MYSQL_PORT=port, CRYPTOSTREAM_DASHBOARD_PORT=port)
    with pytest.raises(CommandError, match=f"dashboard.port and mysql.port share port {port}"):
        listen_ports.require_free(listen_ports.planned(shared, simulated=False, with_prometheus=False))


def test_the_container_stack_always_plans_its_own_kafka_and_mysql(tmp_path) -> None:
    config = configured(tmp_path, CRYPTOSTREAM_KAFKA_PRIVATE_BROKER="false", CRYPTOSTREAM_MYSQL_PRIVATE_INSTANCE="false")
    assert not {"kafka.port", "mysql.port"} & set(listen_ports.planned(config, False, False))
    assert {"kafka.port", "kafka.controller_port", "mysql.port"} <= set(listen_ports.planned(config, False, False,
                                                                                            containers=True))
