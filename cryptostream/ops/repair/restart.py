"""bin/restart <producer|kafka|processor|mysql|all> [--docker]: runbook section 6.

Restarts through supervisord (natively, or inside the app container for producer and
processor; kafka and mysql are their own containers there), then waits until the program is
healthy again, judged by what it does rather than by its process: MySQL answers queries,
Kafka serves the topic, the processor commits a new micro-batch, the producer publishes."""
from __future__ import annotations

import argparse
import subprocess
import time
from typing import Callable

from cryptostream.core import config as config_module
from cryptostream.core.config import Config
from cryptostream.ops import programs, supervisor
from cryptostream.ops.health.probes.mysql import mysql_query
from cryptostream.ops.stack import containers
from cryptostream.core.polling import wait_for
from cryptostream.ops import cli
from cryptostream.pipeline import topic

ORDER = programs.RESTART_ORDER  # dependencies first


def healthy_check(config: Config, program: str, since: float) -> Callable[[], bool]:
    """True once `program` works again after its restart completed at `since` (epoch seconds):
    for the pipeline, work done by the new process, not the last work of the old one."""
    def batch_committed() -> bool:
        rows = mysql_query(config, "progress", (config.processor.query_name,))
        return bool(rows) and float(rows[0][3]) < time.time() - since

    def published() -> bool:
        age = topic.newest_record_age(config, topic.end_offsets(config))
        return age is not None and age <= time.time() - since
    return {programs.MYSQL: lambda: bool(mysql_query(config, "row_count")),
            programs.KAFKA: lambda: bool(topic.end_offsets(config)),
            programs.PROCESSOR: batch_committed,
            programs.PRODUCER: published}[program]


def restart_command(config: Config, program: str, docker: bool) -> list[str]:
    if not docker:
        return supervisor.ctl_command(config, ["restart", program])
    if program in programs.PIPELINE:
        return ["docker", "exec", containers.app_container(config), "supervisorctl", "restart", program]
    return containers.compose_command("restart", program)


def restart(config: Config, program: str, timeout: float, docker: bool) -> float:
    if not docker:
        cli.require_supervisord(config)  # one clear line instead of supervisorctl's own
    started = time.time()
    env = containers.environment(config) if docker else supervisor.environment(config)
    result = subprocess.run(restart_command(config, program, docker), env=env, capture_output=True, text=True)
    print((result.stdout + result.stderr).strip(), flush=True)
    if result.returncode != 0:
        raise RuntimeError(f"restart of {program} failed")
    wait_for(f"{program} to be healthy", healthy_check(config, program, time.time()), timeout, interval=1)
    return time.time() - started


@cli.command()
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="restart", description="Runbook section 6: restart and wait until healthy.")
    parser.add_argument("program", choices=[*ORDER, "all"])
    parser.add_argument("--timeout", type=float, default=180, help="seconds to wait for health (default 180)")
    parser.add_argument("--docker", action="store_true", help="the container stack (docker/compose.yml)")
    args = parser.parse_args(argv)
    config = config_module.load()
    programs = ORDER if args.program == "all" else (args.program,)
    if not args.docker:  # an external MySQL or Kafka is restarted where it runs
        for program in sorted(config.external_services & set(programs)):
            print(f"{program}: external (not run by this stack), not restarted", flush=True)
        programs = tuple(p for p in programs if p not in config.external_services)
    for program in programs:
        try:
            took = restart(config, program, args.timeout, args.docker)
        except (TimeoutError, RuntimeError) as exc:
            print(f"error: {exc}; see bin/logs {'--docker ' if args.docker else ''}{program}")
            return 2
        print(f"{program}: healthy again after {took:.0f}s", flush=True)
    return 0
