"""bin/restart <producer|kafka|processor|mysql|all>: runbook section 6 through supervisord,
waiting until each program is healthy again and saying so."""
from __future__ import annotations

import argparse
import time
from datetime import datetime
from typing import Callable

from cryptostream import config as config_module
from cryptostream.config import Config
from cryptostream.ops import probes, supervisor
from cryptostream.ops.stack import port_open, wait_for

ORDER = ("mysql", "kafka", "processor", "producer")  # dependencies first


def healthy_check(config: Config, program: str, since: float) -> Callable[[], bool]:
    """What 'healthy again' means for each program."""
    def running() -> bool:
        return probes.program_states(config)[program]["statename"] == "RUNNING"

    def logged(event: str) -> Callable[[], bool]:
        return lambda: running() and any(
            e.get("event") == event and _epoch(e["timestamp"]) > since for e in probes.log_events(config, program, 1))
    return {"mysql": lambda: running() and port_open(config.mysql.port) and bool(probes.mysql_query(config, "row_count")),
            "kafka": lambda: running() and bool(probes.topic_end_offsets(config)),
            "processor": logged("batch"),
            "producer": logged("poll")}[program]


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def restart(config: Config, program: str, timeout: float) -> float:
    started = time.time()
    result = supervisor.ctl(config, "restart", program, check=False)
    print(result.stdout.strip() or result.stderr.strip(), flush=True)
    wait_for(f"{program} to be healthy", healthy_check(config, program, started), timeout, interval=1)
    return time.time() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="restart", description="Runbook section 6: restart and wait until healthy.")
    parser.add_argument("program", choices=[*ORDER, "all"])
    parser.add_argument("--timeout", type=float, default=180, help="seconds to wait for health (default 180)")
    args = parser.parse_args(argv)
    config = config_module.load()
    programs = ORDER if args.program == "all" else (args.program,)
    if not config.mysql.private_instance:
        programs = tuple(p for p in programs if p != "mysql")
    try:
        for program in programs:
            took = restart(config, program, args.timeout)
            print(f"{program}: healthy again after {took:.0f}s", flush=True)
    except (TimeoutError, RuntimeError) as exc:
        print(f"error: {exc}; see bin/logs {program}")
        return 2
    return 0
