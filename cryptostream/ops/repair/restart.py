"""bin/restart <producer|kafka|processor|mysql|all> [--docker]: runbook section 6.

Restarts through the deployment (supervisord natively; in containers the app's supervisord for
producer and processor, docker restart for the kafka and mysql containers), then waits until the program is
healthy again, judged by what it does rather than by its process: MySQL answers queries,
Kafka serves the topic, the processor commits a new micro-batch, the producer publishes."""
from __future__ import annotations

import argparse
import time
from typing import Callable

from cryptostream.core import config as config_module
from cryptostream.core.config import Config
from cryptostream.ops import deployment as deployments, programs
from cryptostream.ops.deployment import Deployment
from cryptostream.ops.health.probes.mysql import mysql_query
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


def restart(deployment: Deployment, program: str, timeout: float) -> float:
    """Restart one program or service of the stack and wait until it works again; seconds taken."""
    started = time.time()
    result = deployment.control("restart", program)
    print((result.stdout + result.stderr).strip(), flush=True)
    if result.returncode != 0:
        raise RuntimeError(f"restart of {program} failed")
    wait_for(f"{program} to be healthy", healthy_check(deployment.config, program, time.time()), timeout, interval=1)
    return time.time() - started


@cli.command()
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="restart", description="Runbook section 6: restart and wait until healthy.")
    parser.add_argument("program", choices=[*ORDER, "all"])
    parser.add_argument("--timeout", type=float, default=180, help="seconds to wait for health (default 180)")
    args = deployments.add_flags(parser).parse_args(argv)
    deployment = deployments.choose(config_module.load(), args.deployment)
    programs = ORDER if args.program == "all" else (args.program,)
    for program in programs:
        if not deployment.runs(program):  # an external MySQL or Kafka is restarted where it runs
            print(f"{program}: external (not run by this stack), not restarted", flush=True)
            continue
        try:
            took = restart(deployment, program, args.timeout)
        except (TimeoutError, RuntimeError) as exc:
            print(f"error: {exc}; see {deployment.logs_hint(program)}")
            return 2
        print(f"{program}: healthy again after {took:.0f}s", flush=True)
    return 0
