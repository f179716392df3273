"""The native stack: supervisord on this machine (var/run/supervisor.sock) runs kafka, mysql,
producer, processor and the simulated exchange; logs in var/log, the checkpoint in
var/checkpoints, MySQL's administrator through the private instance's socket."""
from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterable

from cryptostream.core import db
from cryptostream.ops import cli, programs, supervisor
from cryptostream.ops.deployment.base import UNEXPECTED_EXIT, Deployment, ProgramState, Usage
from cryptostream.ops.deployment.processes import process_tree_usage
from cryptostream.services.mysql_server import find

TOOLS = {"client": ("mariadb", "mysql"), "dump": ("mariadb-dump", "mysqldump")}
LOG_NAMES = (*programs.SUPERVISED, programs.SUPERVISORD)


class NativeDeployment(Deployment):
    name, flag = "native", "--native"

    def is_up(self) -> bool:
        return supervisor.is_running(self.config)

    def not_up(self) -> str:
        return f"the native stack's supervisord does not answer on its socket {supervisor.socket_file(self.config)}"

    def program_states(self) -> dict[str, ProgramState]:
        cli.require_supervisord(self.config)
        return {info["name"]: info for info in supervisor.process_info(self.config)}

    def unexpected_exits(self, hours: float = 24) -> dict[str, int]:
        """From supervisord's log; stops asked for by an operator do not count. It logs local time."""
        since = datetime.now() - timedelta(hours=hours)
        counts: dict[str, int] = {}
        for line in self.log_lines(programs.SUPERVISORD, hours):
            match = UNEXPECTED_EXIT.match(line)
            if match and datetime.fromisoformat(match.group(1)) >= since:
                counts[match.group(2)] = counts.get(match.group(2), 0) + 1
        return counts

    def log_lines(self, program: str, hours: float) -> Iterable[str]:
        for path in self.log_files(program):
            yield from path.read_text(errors="replace").splitlines()

    def log_files(self, program: str) -> list[Path]:
        """var/log/<program>.log and its rotated copies, oldest first (.5 is the oldest)."""
        folder = self.config.var_dir / "log"
        rotated = sorted((p for p in folder.glob(f"{program}.log.*") if p.suffix[1:].isdigit()),
                         key=lambda p: int(p.suffix[1:]), reverse=True)
        current = folder / f"{program}.log"
        return [*rotated, *([current] if current.exists() else [])]

    def log_names(self) -> tuple[str, ...]:
        return LOG_NAMES

    def log_sources(self, names: list[str], follow: bool) -> list[list[str]]:
        files = [str(self.config.var_dir / "log" / f"{name}.log") for name in names]
        if not any(Path(f).exists() for f in files):
            raise cli.CommandError(f"no log yet: {', '.join(files)}; is the stack up? bin/status (bin/up starts it)")
        return [[shutil.which("tail") or "tail", "-n", "50", *(["-F"] if follow else []), *files]]

    def checkpoint_batches(self, folder: str) -> list[int]:
        return [int(p.name) for p in (self.config.checkpoint_dir / folder).glob("[0-9]*") if p.name.isdigit()]

    def checkpoint_text(self, relative: str) -> str | None:
        path = self.config.checkpoint_dir / relative
        return path.read_text() if path.exists() else None

    def set_checkpoint_aside(self, suffix: str) -> str | None:
        checkpoint = self.config.checkpoint_dir
        if not checkpoint.exists():
            return None
        aside = checkpoint.with_name(checkpoint.name + suffix)
        checkpoint.rename(aside)
        return str(aside)

    def supervisorctl_command(self, args: list[str]) -> list[str]:
        if not set(args) & {"help", "version", "-h", "--help"}:  # the rest needs the daemon
            cli.require_supervisord(self.config)
        return supervisor.ctl_command(self.config, args)

    def control_command(self, action: str, program: str) -> list[str]:
        cli.require_supervisord(self.config)  # one clear line instead of supervisorctl's own
        return supervisor.ctl_command(self.config, [action, program])

    def environment(self) -> dict[str, str]:
        return supervisor.environment(self.config)

    def runs(self, program: str) -> bool:
        return program not in self.config.external_services

    def usage(self) -> list[Usage]:
        return [(name, info["statename"], *(process_tree_usage(info["pid"]) if info["pid"] else (0, 0.0)))
                for name, info in sorted(self.program_states().items())]

    def kafka_disk_bytes(self) -> int | None:
        """Allocated blocks: Kafka pre-allocates sparse index files."""
        if not self.config.kafka.private_broker:
            return None
        folder = self.config.var_dir / "kafka" / "data"
        return sum(f.stat().st_blocks * 512 for f in folder.rglob("*") if f.is_file()) if folder.exists() else 0

    def mysql_tool(self, tool: str, admin: bool) -> list[str]:
        return [find(*TOOLS[tool]), f"--defaults-extra-file={db.client_options_file(self.config, admin=admin)}"]

    @property
    def can_admin(self) -> bool:
        return self.config.mysql.private_instance

    def require_mysql(self) -> None:
        cli.require_mysql(self.config, admin=self.can_admin)
