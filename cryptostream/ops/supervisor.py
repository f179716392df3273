"""supervisord for the native stack: its environment, start, control and program names."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
# supervisord's own XML-RPC over its 0700 unix socket in var/run: a trusted peer
from xmlrpc.client import Fault, ServerProxy  # nosec B411

from supervisor.xmlrpc import Faults, SupervisorTransport

from cryptostream.core import shipped_files
from cryptostream.core.config import Config
from cryptostream.core.polling import wait_for
from cryptostream.ops import programs, service_user

CONF = shipped_files.CONF_DIR / "supervisord.conf"
OPTIONAL_DEFINITIONS = shipped_files.CONF_DIR / "supervisor" / "optional"


# Passwords reach programs as files (var/secrets), never through every child's environment.
PRIVATE_VARIABLES = ("CRYPTOSTREAM_MYSQL_PASSWORD",)


def environment(config: Config, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PRIVATE_VARIABLES}
    env.update(service_user.environment(config), CRYPTOSTREAM_HOME=str(config.var_dir),
               CRYPTOSTREAM_BIN=str(Path(sys.executable).parent), PYTHONUNBUFFERED="1",
               CRYPTOSTREAM_LOG_MAXBYTES="50MB", CRYPTOSTREAM_PIPELINE_AUTOSTART="false")
    env.update(extra or {})
    return env


def socket_file(config: Config) -> Path:
    return config.var_dir / "run" / "supervisor.sock"


def rpc(config: Config) -> ServerProxy:
    transport = SupervisorTransport(None, None, f"unix://{socket_file(config)}")
    return ServerProxy("http://127.0.0.1", transport=transport)


def is_running(config: Config) -> bool:
    try:
        return rpc(config).supervisor.getState()["statename"] == "RUNNING"
    except (OSError, Exception):  # noqa: BLE001 - no socket, refused, or stale: not running
        return False


def start_daemon(config: Config, extra_env: dict[str, str]) -> None:
    for folder in ("log", "run"):
        (config.var_dir / folder).mkdir(parents=True, exist_ok=True)
    user = service_user.ensure(config)
    as_user = ["--user", user] if user else []
    subprocess.run([_bin("supervisord"), "-c", str(CONF), *as_user], env=environment(config, extra_env), check=True)
    wait_for("supervisord", lambda: is_running(config), 30, interval=0.2,
             timed_out=lambda _: f"supervisord did not come up; see {config.var_dir / 'log' / 'supervisord.log'}")


def define_optional(config: Config, wanted: list[str]) -> None:
    """Define the optional programs asked for in run/supervisor.d, which supervisord.conf
    includes (it says why); on a running supervisord, add them and leave the others as they are."""
    folder = config.var_dir / "run" / "supervisor.d"
    folder.mkdir(parents=True, exist_ok=True)
    running = is_running(config)
    for name in programs.OPTIONAL:
        if name in wanted:
            (folder / f"{name}.conf").write_text((OPTIONAL_DEFINITIONS / f"{name}.conf").read_text())
        elif not running:
            (folder / f"{name}.conf").write_text(f"; {name}: not asked for by bin/up\n")
    if running and wanted:
        ctl(config, "reread", check=False)
        ctl(config, "add", *wanted, check=False)


def start_together(config: Config, *names: str) -> None:
    """Start programs without waiting for each (supervisorctl would, one after the other): the
    caller waits for what it needs, e.g. each server's port."""
    for name in names:
        try:
            rpc(config).supervisor.startProcess(qualify(name), False)
        except Fault as fault:
            if fault.faultCode != Faults.ALREADY_STARTED:
                raise


def qualify(name: str) -> str:
    """'producer' -> 'pipeline:producer': programs live in groups (infra, pipeline), users type the
    bare names; group names, 'all' and qualified names pass through."""
    return f"{programs.GROUPS[name]}:{name}" if name in programs.GROUPS else name


def ctl_command(config: Config, args: list[str]) -> list[str]:
    """A supervisorctl command line for `args`, with bare program names qualified."""
    return [_bin("supervisorctl"), "-c", str(CONF), *(args[:1] + [qualify(a) for a in args[1:]])]


def ctl(config: Config, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(ctl_command(config, list(args)), env=environment(config), check=check,
                          capture_output=True, text=True)


def process_info(config: Config) -> list[dict]:
    return rpc(config).supervisor.getAllProcessInfo()


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)
