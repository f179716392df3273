"""How every operator command fails: one line on stderr naming what went wrong, where
(the setting, host:port, socket or file) and what to do; no traceback; a documented exit code.

    @cli.command(cli.UNKNOWN)        # daily-check, weekly-check, check-alerts, status
    def main(argv=None) -> int: ...

    @cli.command()                   # every other command: exit 2 on such errors

Check commands exit 3 (UNKNOWN, the monitoring-plugin convention) when they cannot check,
so a configuration mistake or a crash never reads as 1 (WARN). CRYPTOSTREAM_DEBUG=1 adds the
traceback for errors that are bugs rather than operator problems.
"""
from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Callable

import mysql.connector
from kafka import errors as kafka_errors
from kafka.errors import KafkaError

from cryptostream.core import config as config_module
from cryptostream.core.config import ConfigError
from cryptostream.pipeline.topic import TopicMissing

FAILED = 2   # an ordinary command could not do its job
UNKNOWN = 3  # a check command could not check
MAX_LINE = 400

# mysql.connector error numbers that mean "nothing answered there" rather than a refusal
MYSQL_UNREACHABLE = {2002, 2003, 2005, 2006, 2013, 2055}
STACK_HINT = "is the stack up? bin/status (bin/up starts it)"
# Kafka errors that mean no broker answered (NoBrokersAvailable is gone from kafka-python 3)
KAFKA_UNREACHABLE = tuple(getattr(kafka_errors, name) for name in (
    "NoBrokersAvailable", "KafkaTimeoutError", "KafkaConnectionError", "MetadataEmptyBrokerList")
    if hasattr(kafka_errors, name))


class CommandError(Exception):
    """An error the operator can act on; the message says what, where and what to do."""


class Unavailable(CommandError):
    """A part of the stack did not answer. Inside a check that is a finding (FAIL), not a crash."""


def command(failure_exit: int = FAILED) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Decorate a command's main(): known problems become one `error:` line and `failure_exit`."""
    def decorate(main: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(main)
        def run(*args, **kwargs) -> int:
            try:
                return main(*args, **kwargs)
            except SystemExit as exc:
                # argparse exits 2 on a usage error; for a check command that is "could not check"
                if exc.code == 2 and failure_exit != 2:
                    raise SystemExit(failure_exit) from None
                raise
            except KeyboardInterrupt:
                return 130
            except Exception as exc:  # noqa: BLE001 - the one place errors become an exit code
                if os.environ.get("CRYPTOSTREAM_DEBUG"):
                    traceback.print_exc()
                print(f"error: {describe(exc)}", file=sys.stderr, flush=True)
                return failure_exit
        return run
    return decorate


def describe(exc: BaseException) -> str:
    """One line for any exception: operator-facing ones say what to do, others that they are bugs."""
    for kinds, explain in _EXPLAINERS:
        if isinstance(exc, kinds):
            text = explain(exc)
            if text:
                return one_line(text)
    return one_line(_unexpected(exc))


def unreachable(exc: BaseException) -> bool:
    """True when `exc` means a part of the stack is down or missing: a finding for a check."""
    if isinstance(exc, Unavailable | KafkaError | TopicMissing):
        return True
    if isinstance(exc, mysql.connector.Error):
        return exc.errno in MYSQL_UNREACHABLE or exc.errno in (1049, 1146)
    return False


def one_line(text: str) -> str:
    """Newlines folded; a long text keeps its start (what) and its end (usually the cause)."""
    flat = " ".join(part.strip() for part in str(text).splitlines() if part.strip())
    if len(flat) <= MAX_LINE:
        return flat
    head = MAX_LINE // 3
    return f"{flat[:head]} ... {flat[-(MAX_LINE - head - 5):]}"


def require_mysql(config, admin: bool = False) -> None:
    """Connect once and close, so a command that needs MySQL fails first with one clear line
    (host:port or socket, refused login) instead of later, deep inside a tool."""
    from cryptostream.core import db  # lazy: keeps this module importable without the SQL files
    db.connect(config, admin=admin, database=False, timeout=5).close()


def require_supervisord(config) -> None:
    """Raise Unavailable unless this stack's supervisord answers on its socket."""
    from cryptostream.ops import supervisor  # lazy: supervisor imports the supervisor package
    if not supervisor.is_running(config):
        raise Unavailable(f"supervisord is not running (no answer on {supervisor.socket_file(config)}); "
                          f"start the stack with bin/up")


# --- the explanations, most specific first ---

def _config_error(exc: ConfigError) -> str:
    text = f"configuration: {exc}"
    match = re.match(r"^\[?(\w+)\.(\w+)\]?:", str(exc))
    variable = f"{config_module.ENV_PREFIX}{match.group(1).upper()}_{match.group(2).upper()}" if match else None
    if variable and variable in os.environ:
        return f"{text}; it comes from the environment variable {variable}"
    where = os.environ.get("CRYPTOSTREAM_CONFIG") or str(config_module.DEFAULT_CONFIG_FILE)
    return f"{text}; fix it in {where} or with the matching CRYPTOSTREAM_<SECTION>_<KEY> variable"


def _mysql_error(exc: mysql.connector.Error) -> str:
    message = exc.msg or str(exc)
    if exc.errno in MYSQL_UNREACHABLE:
        return f"MySQL is not reachable: {message}; {STACK_HINT}"
    if exc.errno == 1045:
        return (f"MySQL refused the login: {message}; check mysql.user and the password "
                f"(CRYPTOSTREAM_MYSQL_PASSWORD_FILE, default var/secrets/mysql-password)")
    if exc.errno == 1049:
        return f"MySQL: {message}; bin/up creates it (or check mysql.database)"
    if exc.errno == 1146:
        return f"MySQL: {message}; bin/up applies sql/schema.sql"
    return f"MySQL error {exc.errno}: {message}"


def _kafka_error(exc: KafkaError) -> str:
    servers = _bootstrap_servers()
    if isinstance(exc, KAFKA_UNREACHABLE):
        return f"Kafka at {servers} is not reachable ({exc}); {STACK_HINT}"
    return f"Kafka error at {servers}: {exc}"


def _bootstrap_servers() -> str:
    try:
        return config_module.load().kafka.bootstrap_servers
    except Exception:  # noqa: BLE001 - only context for a message; the error itself is Kafka's
        return "kafka.bootstrap_servers"


def _os_error(exc: OSError) -> str | None:
    if exc.errno is None:
        return str(exc)  # raised by our own code with a message that already says what to do
    if exc.filename is None:
        return None  # not about one of our files (e.g. a socket): let the generic line say it
    where = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
    if isinstance(exc, PermissionError):
        return f"permission denied: {where}; run the command as the user that owns the stack's files " \
               f"(ls -l {Path(str(exc.filename)).parent})"
    if isinstance(exc, FileNotFoundError):
        return f"no such file or directory: {where}; check the path (bin/up creates the stack's own files)"
    return f"{exc.strerror or type(exc).__name__}: {where}"


def _called_process(exc: subprocess.CalledProcessError) -> str:
    output = exc.stderr or exc.output or ""
    output = output.decode(errors="replace") if isinstance(output, bytes) else output
    last = output.strip().splitlines()[-1] if output.strip() else ""
    program = Path(str(exc.cmd[0] if isinstance(exc.cmd, list | tuple) else exc.cmd)).name
    return f"{program} exited with {exc.returncode}" + (f": {last}" if last else "")


def _unexpected(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    detail = str(exc).strip()
    return (f"unexpected {type(exc).__name__}{where}" + (f": {detail}" if detail else "") +
            "; this is a bug (CRYPTOSTREAM_DEBUG=1 shows the traceback)")


_EXPLAINERS: list[tuple[type | tuple[type, ...], Callable[[BaseException], str | None]]] = [
    ((CommandError, TopicMissing), str),
    (ConfigError, _config_error),
    (mysql.connector.Error, _mysql_error),
    (KafkaError, _kafka_error),
    (subprocess.CalledProcessError, _called_process),
    (OSError, _os_error),
    ((TimeoutError, ConnectionError), lambda exc: f"{type(exc).__name__}: {exc}"),
    # this code base raises RuntimeError with an operator-facing message ("... see bin/logs x");
    # RecursionError and NotImplementedError are bugs and fall through
    (RuntimeError, lambda exc: None if isinstance(exc, RecursionError | NotImplementedError) else str(exc)),
]
