"""Deployment: one running stack as the runbook commands see it, native (supervisord on this
machine) or containers (docker/compose.yml). Kafka and MySQL answer on 127.0.0.1 at the same
ports in both; what differs, and so lives behind this interface, is supervisord, the programs'
logs, the Spark checkpoint, stopping and starting a component, and how to reach MySQL's tools."""
from __future__ import annotations

import re
import subprocess
from abc import ABC, abstractmethod
from typing import Any, Iterable

from cryptostream.core.config import Config
from cryptostream.ops.cli import CommandError, one_line

ProgramState = dict[str, Any]  # supervisord's process info: name, statename, description, pid
Usage = tuple[str, str, int, float]  # (program, state, RSS bytes with children, CPU seconds)
CONTROL_ACTIONS = ("start", "stop", "restart")
# supervisord's log line for a program that died by itself (it then restarts it)
UNEXPECTED_EXIT = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ \w+ exited: ([\w-]+) .*not expected")


class Deployment(ABC):
    """What the runbook reads from and does to one stack; `config` is the operator's configuration."""
    name: str  # "native" or "docker", as the command-line flag
    flag: str  # the flag that selects it: --native or --docker

    def __init__(self, config: Config) -> None:
        self.config = config

    @abstractmethod
    def is_up(self) -> bool:
        """Whether this stack runs here now (its supervisord answers / its app container runs)."""

    @abstractmethod
    def not_up(self) -> str:
        """Why is_up() is False, naming where it looked."""

    @abstractmethod
    def program_states(self) -> dict[str, ProgramState]:
        """Every program and service of the stack by bare name, in supervisord's terms."""

    @abstractmethod
    def unexpected_exits(self, hours: float = 24) -> dict[str, int]:
        """Per program, how often it died unexpectedly (and was restarted) in the last `hours`."""

    @abstractmethod
    def log_lines(self, program: str, hours: float) -> Iterable[str]:
        """The program's log lines, oldest first, at least those of the last `hours`."""

    @abstractmethod
    def log_sources(self, names: list[str], follow: bool) -> list[list[str]]:
        """Commands printing the named logs (bin/logs), following them if `follow`."""

    def shows(self, names: list[str], line: str) -> bool:
        """Whether bin/logs shows `line` of log_sources(names): every line, unless a source is
        shared by several programs."""
        return True

    @abstractmethod
    def log_names(self) -> tuple[str, ...]:
        """The names bin/logs takes on this stack."""

    @abstractmethod
    def checkpoint_batches(self, folder: str) -> list[int]:
        """The batch ids in the checkpoint's offsets/ or commits/ folder."""

    @abstractmethod
    def checkpoint_text(self, relative: str) -> str | None:
        """A file of the Spark checkpoint (e.g. offsets/12); None when it does not exist."""

    @abstractmethod
    def set_checkpoint_aside(self, suffix: str) -> str | None:
        """Rename the checkpoint to <name><suffix>; the new path, or None when there was none."""

    @abstractmethod
    def supervisorctl_command(self, args: list[str]) -> list[str]:
        """supervisorctl with `args` against this stack's supervisord."""

    @abstractmethod
    def control_command(self, action: str, program: str) -> list[str]:
        """The command that starts, stops or restarts one program or service."""

    @abstractmethod
    def runs(self, program: str) -> bool:
        """Whether this stack runs `program` (an external Kafka or MySQL is not restarted here)."""

    @abstractmethod
    def usage(self) -> list[Usage]:
        """What each program uses now, for the monthly report's capacity section."""

    @abstractmethod
    def kafka_disk_bytes(self) -> int | None:
        """Bytes the broker's data takes on disk; None when the broker runs elsewhere."""

    @abstractmethod
    def mysql_tool(self, tool: str, admin: bool) -> list[str]:
        """The `client` (mariadb/mysql) or `dump` (mariadb-dump/mysqldump) command, logged in as
        the administrator or the application user; passwords never on the command line."""

    @property
    @abstractmethod
    def can_admin(self) -> bool:
        """Whether this stack's MySQL administrator is ours to use (else the app user does)."""

    @abstractmethod
    def require_mysql(self) -> None:
        """Raise with one clear line unless MySQL answers."""

    def environment(self) -> dict[str, str] | None:
        """The environment for this stack's commands (None: the caller's)."""
        return None

    def control(self, action: str, program: str) -> subprocess.CompletedProcess:
        """Start, stop or restart one program or service; its output captured."""
        if action not in CONTROL_ACTIONS:
            raise ValueError(f"action must be one of {CONTROL_ACTIONS}, got {action!r}")
        return subprocess.run(self.control_command(action, program), env=self.environment(),
                              capture_output=True, text=True)

    def admin_sql(self, *statements: str) -> list[list[str]]:
        """Run statements with the MySQL client as the administrator (or the app user where
        can_admin is False); the text rows they return, tab-separated fields. Bytes that are not
        UTF-8 (a rejected message's raw value) stay as surrogate escapes, so rows compare exactly."""
        command = [*self.mysql_tool("client", admin=self.can_admin), "--batch", "--skip-column-names",
                   "-e", ";\n".join(statements)]
        result = subprocess.run(command, capture_output=True, text=True, errors="surrogateescape",
                                env=self.environment(), stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise CommandError(f"MySQL on the {self.name} stack refused: {one_line(result.stderr) or 'no message'}")
        return [line.split("\t") for line in result.stdout.splitlines()]

    def logs_hint(self, program: str) -> str:
        """The command that shows a program's log on this stack."""
        return f"bin/logs {self.flag} {program}"
