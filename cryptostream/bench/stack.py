"""The one harness that starts a native stack of its own (bin/up --simulated in a separate home,
free 127.0.0.1 ports), shared by the benchmark and the end-to-end tests (tests/helpers/stack.py
extends it), so neither ever touches an operator's stack."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from cryptostream.core import shipped_files
from cryptostream.core.config import Config, load
from cryptostream.ops import programs
from cryptostream.ops.deployment import NativeDeployment
from cryptostream.core.ports import free_port

PORT_SETTINGS = ("KAFKA_CONTROLLER_PORT", "MYSQL_PORT", "SIMULATOR_PORT", "SIMULATOR_MIRROR_PORT", "SIMULATOR_WS_PORT",
                 "METRICS_PRODUCER_PORT", "METRICS_PROCESSOR_PORT", "METRICS_PROMETHEUS_PORT",
                 "DASHBOARD_PORT")


def environment(home: Path, **settings: str) -> dict[str, str]:
    """CRYPTOSTREAM_* for a stack of its own: home, free ports, then the given settings
    (keys like processor_window, as in the configuration file's section_key)."""
    kafka_port = free_port()
    env = dict(os.environ, CRYPTOSTREAM_HOME=str(home),
               CRYPTOSTREAM_JARS_DIR=str(_checkout() / "var" / "jars"),  # resolved once for all homes
               CRYPTOSTREAM_KAFKA_PORT=str(kafka_port),
               CRYPTOSTREAM_KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{kafka_port}")
    env.update({f"CRYPTOSTREAM_{name}": str(free_port()) for name in PORT_SETTINGS})
    env.update({f"CRYPTOSTREAM_{key.upper()}": value for key, value in settings.items()})  # settings win
    return env


def _checkout() -> Path:
    # its stacks start through bin/up, as an operator's does
    return shipped_files.checkout("the benchmark")


class OwnStack:
    """bin/up --simulated / bin/down in `home`; `config` is what its programs read."""

    def __init__(self, home: Path, **settings: str) -> None:
        self.home = home
        self.env = environment(home, **settings)

    @property
    def config(self) -> Config:
        return load(env=self.env)

    def configured(self, **overrides: str) -> Config:
        """The configuration with settings changed (keys like processor_window)."""
        return load(env=self._with(overrides))

    def _with(self, overrides: dict[str, str]) -> dict[str, str]:
        return {**self.env, **{f"CRYPTOSTREAM_{k.upper()}": v for k, v in overrides.items()}}

    def run(self, command: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([str(_checkout() / "bin" / command), *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def up(self, wait_rows: float = 180) -> float:
        """Start everything; seconds until rows of every symbol were in MySQL."""
        started = time.monotonic()
        result = self.run("up", "--simulated", "--wait-rows", str(wait_rows), timeout=900)
        if result.returncode != 0:
            raise RuntimeError(f"bin/up failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}\n"
                               + "".join(f"{program} log:\n{self.log(program)[-3000:]}\n"
                                         for program in programs.PIPELINE))
        return time.monotonic() - started

    def down(self) -> None:
        result = self.run("down", timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"bin/down failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")

    def log(self, program: str) -> str:
        """Everything the program logged in this run."""
        path = self.home / "log" / f"{program}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def all_logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in (self.home / "log").glob("*.log"))

    def ctl(self, *args: str) -> str:
        result = self.run("supervisorctl", *args)
        return result.stdout + result.stderr

    def pids(self) -> dict[str, int]:
        """supervisord's programs by bare name, with their pids (0 when not running)."""
        return {name: info["pid"] for name, info in NativeDeployment(self.config).program_states().items()}

    def processor(self, log: Path, **overrides: str) -> subprocess.Popen:
        """A processor of its own (not supervisord's), reading what `overrides` say."""
        return self.spawn([str(Path(sys.executable).parent / "cryptostream-processor")], log, **overrides)

    def spawn(self, command: list[str], log: Path, **overrides: str) -> subprocess.Popen:
        """`command` in a session of its own, configured like the stack but for `overrides`,
        its output into `log`."""
        with open(log, "wb") as out:
            return subprocess.Popen(command, env=self._with(overrides), stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
