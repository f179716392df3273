"""Thin operator commands: bin/supervisorctl, bin/mysql, bin/kafka-topics, bin/logs."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from cryptostream.core import config as config_module
from cryptostream.core import db
from cryptostream.ops import programs, supervisor
from cryptostream.ops.stack import containers
from cryptostream.services.java import kafka_command
from cryptostream.services.mysql_server import find
from cryptostream.ops import cli

PROGRAMS = (*programs.SUPERVISED, programs.SUPERVISORD)  # the logs bin/logs follows


@cli.command()
def supervisorctl(argv: list[str] | None = None) -> int:
    """supervisorctl on this project's socket; `restart producer` works without group prefixes."""
    config = config_module.load()
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--docker"]:
        return containers.ctl(config, args[1:])
    if not set(args) & {"help", "version", "-h", "--help"}:  # the rest needs the daemon
        cli.require_supervisord(config)
    command = supervisor.ctl_command(config, args)
    return subprocess.run(command, env=supervisor.environment(config)).returncode


@cli.command()
def mysql(argv: list[str] | None = None) -> int:
    """The MySQL client as the application user on the configured database."""
    config = config_module.load()
    client = find("mariadb", "mysql")
    args = list(sys.argv[1:] if argv is None else argv)
    cli.require_mysql(config)
    command = [client, f"--defaults-extra-file={db.client_options_file(config)}", *args, config.mysql.database]
    return subprocess.run(command).returncode


@cli.command()
def kafka_topics(argv: list[str] | None = None) -> int:
    """Kafka's own TopicCommand (kafka-topics.sh) from the resolved jars."""
    config = config_module.load()
    args = list(sys.argv[1:] if argv is None else argv)
    command = kafka_command(config, "org.apache.kafka.tools.TopicCommand", args, "kafka-topics",
                            log_level="warn", log_to_stderr=True)
    return subprocess.run(command).returncode


@cli.command()
def logs(argv: list[str] | None = None) -> int:
    """Follow a program's JSON log: pretty on a terminal, raw JSON lines when piped."""
    args = list(sys.argv[1:] if argv is None else argv)
    follow = "--no-follow" not in args
    names = [a for a in args if not a.startswith("-")]
    config = config_module.load()
    if "--docker" in args:  # container services: kafka, mysql, app, exchange-sim
        return containers.logs(config, names, follow)
    names = names or list(programs.PIPELINE)
    unknown = [n for n in names if n not in PROGRAMS]
    if unknown:
        print(f"error: unknown program {unknown[0]}; one of {', '.join(PROGRAMS)}", file=sys.stderr)
        return 2
    files = [str(config.var_dir / "log" / f"{name}.log") for name in names]
    if not any(Path(f).exists() for f in files):
        raise cli.CommandError(f"no log yet: {', '.join(files)}; is the stack up? bin/status (bin/up starts it)")
    tail = subprocess.Popen([shutil.which("tail") or "tail", "-n", "50", *(["-F"] if follow else []), *files],
                            stdout=subprocess.PIPE, text=True)
    pretty = sys.stdout.isatty()
    try:
        for line in tail.stdout:
            sys.stdout.write(_pretty(line) if pretty else line)
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        tail.terminate()
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

