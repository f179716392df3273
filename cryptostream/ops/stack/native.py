"""bin/up, bin/down and bin/status for the native stack under supervisord."""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time

from cryptostream.core import config as config_module
from cryptostream.core import events
from cryptostream.core.config import Config
from cryptostream.core.polling import wait_for
from cryptostream.core.ports import port_open
from cryptostream.ops import cli, programs, supervisor
from cryptostream.ops.stack import jars, listen_ports, provisioning, secrets
from cryptostream.ops.deployment import ContainerDeployment, Deployment, NativeDeployment
from cryptostream.ops.health.probes.log_events import newest_event
from cryptostream.ops.health.probes.mysql import mysql_query
from cryptostream.ops.stack import containers
from cryptostream.pipeline import topic


LAST_LINES = 15  # of a failed program's log, shown by bin/up


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def mode_file(config: Config):
    return config.var_dir / "run" / "mode"


def program_listening(config: Config, program: str, port: int) -> bool:
    """True once `port` answers; raises at once if supervisord gave up on the program."""
    state = supervisor.rpc(config).supervisor.getProcessInfo(supervisor.qualify(program))["statename"]
    if state in ("FATAL", "STOPPED", "EXITED"):
        log = config.var_dir / "log" / f"{program}.log"
        raise RuntimeError(f"{program} is {state}; see {log} or bin/logs {program}")
    return port_open(port)


def start_infra(config: Config) -> None:
    """MySQL and Kafka start together (each takes seconds before it answers), then each is
    waited for."""
    supervisor.start_together(config, *(name for name in programs.INFRA if name not in config.external_services))
    if config.mysql.private_instance:
        wait_for("MySQL", lambda: program_listening(config, programs.MYSQL, config.mysql.port), 90)
        say("preparing MySQL: schema and application user")
        wait_for("MySQL bootstrap", lambda: provisioning.bootstrap(config) is None, 60, interval=1)
    if config.kafka.private_broker:
        wait_for("Kafka", lambda: program_listening(config, programs.KAFKA, config.kafka.port), 120)
    else:  # someone else's cluster: only wait until it answers
        say(f"using the external Kafka at {config.kafka.bootstrap_servers}")
    wait_for(f"Kafka topic at {config.kafka.bootstrap_servers}", lambda: topic.ensure_topic(config) in (True, False),
             60 if config.kafka.private_broker else 120, interval=1)


def up(config: Config, simulated: bool, wait_rows: float, source: str | None = None,
       with_prometheus: bool = False) -> int:
    source = source or config.exchange.source
    mode = ("simulated" if simulated else "live") + ("" if source == "rest" else f"+{source}")
    say("checking Kafka and Spark connector jars")
    jars.resolve(config, say)
    config = with_secrets(config)
    extra = source_environment(config, simulated, source)
    supervisor.define_optional(config, [name for name, asked in ((programs.EXCHANGE_SIM, simulated),
                                                                 (programs.PROMETHEUS, with_prometheus)) if asked])
    if supervisor.is_running(config):
        running_mode = mode_file(config).read_text().strip() if mode_file(config).exists() else "live"
        if running_mode != mode:
            print(f"error: the stack is running in {running_mode} mode; run bin/down first", file=sys.stderr)
            return 2
        say("supervisord already running")
    else:
        listen_ports.require_free(listen_ports.planned(config, simulated, with_prometheus))
        say("starting supervisord")
        supervisor.start_daemon(config, extra)
        mode_file(config).write_text(mode + "\n")
    start_infra(config)
    if simulated:
        supervisor.ctl(config, "start", programs.EXCHANGE_SIM, check=False)
    say("starting producer and processor")
    supervisor.ctl(config, "start", "pipeline:*", check=False)
    start_dashboard(config)
    if with_prometheus:
        start_prometheus(config)
    print(supervisor.ctl(config, "status", check=False).stdout, end="")
    wait_for_rows(config, wait_rows)
    return 0


def start_dashboard(config: Config) -> None:
    supervisor.ctl(config, "start", programs.DASHBOARD, check=False)
    port = config.dashboard.port
    wait_for("the dashboard", lambda: program_listening(config, programs.DASHBOARD, port), 60)
    say(f"dashboard on http://127.0.0.1:{port}/")


def start_prometheus(config: Config) -> None:
    if not shutil.which("prometheus"):
        raise cli.CommandError("--with-prometheus: prometheus is not installed; as root: apt-get install prometheus")
    supervisor.ctl(config, "start", programs.PROMETHEUS, check=False)
    port = config.metrics.prometheus_port
    wait_for("Prometheus", lambda: program_listening(config, programs.PROMETHEUS, port), 60)
    say(f"Prometheus on http://127.0.0.1:{port} (alerts: /alerts; rules: conf/prometheus/rules.yml)")


def source_environment(config: Config, simulated: bool, source: str) -> dict[str, str]:
    """What supervisord passes to the producer: the exchange source and, for --simulated, the
    simulated exchange's REST and WebSocket URLs."""
    extra = {"CRYPTOSTREAM_EXCHANGE_SOURCE": source}
    if simulated:
        extra.update(CRYPTOSTREAM_EXCHANGE_BASE_URLS=config.simulator.base_urls,
                     CRYPTOSTREAM_EXCHANGE_WS_BASE_URL=config.simulator.ws_url)
    return extra


def with_secrets(config: Config) -> Config:
    """The config with the generated dev passwords, creating them on first use."""
    if secrets.keep_from_environment(config):
        say(f"wrote CRYPTOSTREAM_MYSQL_PASSWORD to {config.secrets_dir} (programs read it there, not from "
            f"their environment)")
    if not secrets.ensure(config):
        return config
    say(f"generated local dev passwords in {config.secrets_dir} (mode 0600)")
    return config_module.load()


def up_docker(config: Config, simulated: bool, wait_rows: float) -> int:
    config = with_secrets(config)
    deployment = ContainerDeployment(config)
    if not deployment.any_running():  # host networking: a port held here is one the containers need
        listen_ports.require_free(listen_ports.planned(config, simulated, False, containers=True))
    containers.up(config, simulated, say)
    containers.compose(config, "ps")
    wait_for_rows(config, wait_rows, deployment)
    port = config.dashboard.port  # run by the app container's supervisord
    wait_for("the dashboard", lambda: port_open(port), 60,
             timed_out=lambda _: f"the dashboard does not answer on 127.0.0.1:{port}; see bin/logs --docker dashboard")
    say(f"dashboard on http://127.0.0.1:{port}/")
    return 0


def wait_for_rows(config: Config, timeout: float, deployment: Deployment | None = None) -> None:
    if not timeout:
        return
    deployment = deployment or NativeDeployment(config)
    configured = set(config.exchange.symbols)
    say(f"waiting up to {timeout:g}s for rows of all {len(configured)} symbols in moving_averages")
    started = time.monotonic()
    missing, excluded = sorted(configured), {}
    next_report = started + 15

    def all_there() -> bool:
        nonlocal missing, excluded, next_report
        excluded = excluded_symbols(config)  # the exchange does not list them: no rows will come
        missing = sorted(configured - set(excluded) - symbols_with_rows(config))
        if missing and time.monotonic() >= next_report:  # progress, so a slow start is not a hang
            say(f"  {time.monotonic() - started:.0f}s: no rows yet for {', '.join(missing)}")
            next_report += 15
            require_pipeline_running(deployment)
        return not missing

    try:
        wait_for("rows for every symbol", all_there, timeout, interval=2)
    except TimeoutError as exc:
        raise TimeoutError(f"no rows for {', '.join(missing)} after {timeout:g}s; look at bin/logs producer "
                           f"(is the exchange answering?) and bin/logs processor ({exc})") from None
    print_latest_rows(config)
    if excluded:
        say("left out, the exchange does not trade them: "
            + ", ".join(f"{symbol} ({status})" for symbol, status in sorted(excluded.items()))
            + "; see bin/status and docs/RUNBOOK.md")


def require_pipeline_running(deployment: Deployment) -> None:
    """Raises, with the program's last log lines, once supervisord gave up on the producer or the
    processor: no row can come, so waiting out the timeout would only hide why."""
    if not deployment.is_up():
        return
    states = deployment.program_states()
    for program in programs.PIPELINE:
        if states.get(program, {}).get("statename") == "FATAL":
            say(f"{program}'s last log lines:")
            print("\n".join(list(deployment.log_lines(program, hours=1))[-LAST_LINES:]), flush=True)
            raise RuntimeError(f"{program} is FATAL: it kept exiting and supervisord gave up, so no rows will "
                               f"come; its last log lines are above, all of them: {deployment.logs_hint(program)}")


def excluded_symbols(config: Config) -> dict[str, str]:
    """{symbol: exchange status} the producer's newest symbol check left out."""
    newest = newest_event(NativeDeployment(config), programs.PRODUCER, events.SYMBOL_CHECK, hours=1) or {}
    return dict(newest.get("excluded") or {})


def symbols_with_rows(config: Config) -> set[str]:
    return {row[0] for row in mysql_query(config, "symbols_with_rows")}


def print_latest_rows(config: Config) -> None:
    print(f"{'symbol':10} {'start_time (UTC)':23} {'average_price':>24} {'samples':>8}")
    for symbol, start, _end, average, count, _updated in mysql_query(config, "latest_rows"):
        print(f"{symbol:10} {start.isoformat(' '):23} {average:>24} {count:>8}")


def down(config: Config) -> int:
    if not supervisor.is_running(config):
        say("not running")
        return 0
    groups = [info["pid"] for info in supervisor.process_info(config) if info["pid"]]
    daemon_pid = int((config.var_dir / "run" / "supervisord.pid").read_text())
    say("stopping all programs and supervisord")
    supervisor.ctl(config, "shutdown", check=False)
    wait_for("supervisord to exit", lambda: not _alive(daemon_pid), 120)
    left = [pid for pid in groups if _alive(pid, group=True)]
    if left:
        print(f"error: processes still running in process groups {left}", file=sys.stderr)
        return 1
    mode_file(config).unlink(missing_ok=True)
    say("stopped; nothing left running")
    return 0


def _alive(pid: int, group: bool = False) -> bool:
    """Whether the process (or, with group, any process of the group `pid`) still exists."""
    try:
        (os.killpg if group else os.kill)(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _docker_command(config: Config, args: argparse.Namespace) -> int:
    if args.command == "up":
        # compose.yml passes these through to the app container
        os.environ.update(source_environment(config, args.simulated, args.source or config.exchange.source))
        return up_docker(config, args.simulated, args.wait_rows)
    return containers.down(config, args.volumes)


@cli.command()
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cryptostream-stack", description="Run the native stack.")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="set up and start everything (idempotent)")
    start.add_argument("--simulated", action="store_true", help="use the local simulated exchange")
    start.add_argument("--source", choices=config_module.SOURCES,
                       help="rest (poll prices) or websocket (every trade); default: exchange.source")
    start.add_argument("--with-prometheus", action="store_true",
                       help="also run Prometheus with the runbook's alert rules (conf/prometheus)")
    start.add_argument("--wait-rows", type=float, default=120, metavar="SECONDS",
                       help="wait this long for rows of every symbol (0: do not wait)")
    stop = commands.add_parser("down", help="stop everything")
    stop.add_argument("--volumes", action="store_true", help="with --docker: also delete the data volumes")
    for command in (start, stop):
        command.add_argument("--docker", action="store_true", help="the container stack (docker/compose.yml)")
    args = parser.parse_args(argv)
    config = config_module.load()
    if args.docker:
        return _docker_command(config, args)
    if args.command == "up":
        return up(config, args.simulated, args.wait_rows, args.source, args.with_prometheus)
    return down(config)
