"""Thin operator commands: bin/supervisorctl, bin/mysql, bin/kafka-topics, bin/logs. Each takes
--docker or --native (default: the stack running here); Kafka and MySQL answer on the same
127.0.0.1 ports in both, so bin/mysql and bin/kafka-topics work alike on either."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from cryptostream.core import config as config_module
from cryptostream.core import db
from cryptostream.ops import deployment as deployments, programs
from cryptostream.services.java import kafka_command
from cryptostream.services.mysql_server import find
from cryptostream.ops import cli


@cli.command()
def supervisorctl(argv: list[str] | None = None) -> int:
    """supervisorctl on the stack's supervisord (natively, or the app container's); `restart
    producer` works without group prefixes."""
    wanted, args = deployments.split_flags(list(sys.argv[1:] if argv is None else argv))
    deployment = deployments.choose(config_module.load(), wanted)
    return subprocess.run(deployment.supervisorctl_command(args), env=deployment.environment()).returncode


@cli.command()
def mysql(argv: list[str] | None = None) -> int:
    """The MySQL client as the application user on the configured database."""
    config = config_module.load()
    client = find("mariadb", "mysql")
    args = deployments.split_flags(list(sys.argv[1:] if argv is None else argv))[1]  # same port on both
    cli.require_mysql(config)
    command = [client, f"--defaults-extra-file={db.client_options_file(config)}", *args, config.mysql.database]
    return subprocess.run(command).returncode


@cli.command()
def kafka_topics(argv: list[str] | None = None) -> int:
    """Kafka's own TopicCommand (kafka-topics.sh) from the resolved jars."""
    config = config_module.load()
    args = deployments.split_flags(list(sys.argv[1:] if argv is None else argv))[1]  # same port on both
    command = kafka_command(config, "org.apache.kafka.tools.TopicCommand", args, "kafka-topics",
                            log_level="warn", log_to_stderr=True)
    return subprocess.run(command).returncode


@cli.command()
def logs(argv: list[str] | None = None) -> int:
    """Follow logs: natively a program's log file; in containers a container's output (app,
    kafka, mysql, exchange-sim; producer or processor: the app's lines of that program).
    Pretty on a terminal, raw JSON lines when piped."""
    wanted, args = deployments.split_flags(list(sys.argv[1:] if argv is None else argv))
    follow = "--no-follow" not in args
    deployment = deployments.choose(config_module.load(), wanted)
    names = [a for a in args if not a.startswith("-")] or list(programs.PIPELINE)
    unknown = [n for n in names if n not in deployment.log_names()]
    if unknown:
        print(f"error: unknown log {unknown[0]} on the {deployment.name} stack; one of "
              f"{', '.join(deployment.log_names())}", file=sys.stderr)
        return 2
    read, write = os.pipe()  # every source writes into one pipe: their lines interleave as written
    sources = [subprocess.Popen(command, stdout=write, stderr=write) for command in deployment.log_sources(names, follow)]
    os.close(write)
    pretty = sys.stdout.isatty()
    try:
        with os.fdopen(read, errors="replace") as lines:
            for line in lines:
                if deployment.shows(names, line):
                    sys.stdout.write(_pretty(line) if pretty else line)
                    sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        for source in sources:
            source.terminate()
    return 0


def _pretty(line: str) -> str:
    try:
        event = json.loads(line)
    except ValueError:
        return line
    if not isinstance(event, dict):
        return line
    head = f"{event.pop('timestamp', '')[:23]} {event.pop('level', ''):7} " \
           f"{event.pop('component', ''):10} {event.pop('event', '')}"
    rest = " ".join(f"{k}={v}" for k, v in event.items() if v is not None)
    return f"{head}  {rest}\n"

