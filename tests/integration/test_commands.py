"""Every bin/ command fails precisely: a bad setting or a stack that is not running gives one
`error:` line (what, which key or host:port, what to do), no traceback, and the documented exit
code: 3 (UNKNOWN) for the check commands when they cannot check, 2 for the others.

These run the real bin/ wrappers as subprocesses in a temporary CRYPTOSTREAM_HOME on free
ports where nothing listens; no stack is started."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from cryptostream.bench.stack import environment
from tests.helpers.harness import PROJECT_DIR

pytestmark = pytest.mark.integration  # runs the bin/ wrappers as processes (about a minute)

BIN = PROJECT_DIR / "bin"
CHECKS = ("daily-check", "weekly-check", "check-alerts", "status")
# every command that reads the configuration, with arguments that get it past argparse
OTHERS = {"reconcile": [], "backup": [], "restore": ["x.sql.gz"], "mysql": ["-e", "SELECT 1"],
          "supervisorctl": ["status"], "logs": ["--no-follow"], "kafka-topics": ["--list"],
          "monthly-report": [], "rebuild": ["--yes"], "soak": [], "restart": ["processor"]}


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without any CRYPTOSTREAM_* of its own, plus a private home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOSTREAM_")}
    return {**env, "CRYPTOSTREAM_HOME": str(home), **extra}


def run(command: str, *args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / command), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=PROJECT_DIR)


def error_line(result: subprocess.CompletedProcess) -> str:
    """The one line a failing command printed on stderr (bootstrap's own lines start with ==>)."""
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("==>")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def stopped_env(tmp_path_factory) -> dict[str, str]:
    """A home where nothing runs, on free ports: the stack is not running."""
    home = tmp_path_factory.mktemp("nothing-running")
    ports = {k: v for k, v in environment(home).items() if k.startswith("CRYPTOSTREAM_")}
    # a compose project of its own: no container stack of it runs either
    return clean_env(home, **ports, CRYPTOSTREAM_COMPOSE_PROJECT=f"nothing{os.getpid()}")


@pytest.mark.parametrize("command,args,code", [*((c, [], 3) for c in CHECKS), *((c, a, 2) for c, a in OTHERS.items())])
def test_bad_setting_is_one_line_naming_the_key(command, args, code, tmp_path) -> None:
    """CRYPTOSTREAM_KAFKA_PORT=abc: one line naming kafka.port and the variable; 3 for checks, else 2."""
    result = run(command, *args, env=clean_env(tmp_path, CRYPTOSTREAM_KAFKA_PORT="abc"))
    line = error_line(result)
    assert result.returncode == code, (result.returncode, line)
    assert "kafka.port" in line and "CRYPTOSTREAM_KAFKA_PORT" in line, line


def test_missing_config_file_is_one_line_and_unknown_for_a_check(tmp_path) -> None:
    result = run("daily-check", env=clean_env(tmp_path, CRYPTOSTREAM_CONFIG=str(tmp_path / "nope.ini")))
    assert result.returncode == 3
    assert "nope.ini" in error_line(result)


@pytest.mark.parametrize("command", CHECKS)
def test_usage_error_of_a_check_is_unknown(command, tmp_path) -> None:
    """A check command that cannot even parse its arguments could not check: 3, not argparse's 2."""
    result = run(command, "--no-such-option", env=clean_env(tmp_path))
    assert result.returncode == 3
    assert "unrecognized arguments" in result.stderr


@pytest.mark.parametrize("command", CHECKS)
def test_checks_with_no_stack_running_cannot_check(command, stopped_env) -> None:
    """No stack runs and none is named: which one to check is unknown, so one line naming where
    it looked for each (the native socket, the compose project) and exit 3."""
    result = run(command, "--json", env=stopped_env)
    line = error_line(result)
    assert result.returncode == 3, (result.returncode, line)
    assert "no stack is running" in line, line
    assert "supervisor.sock" in line and stopped_env["CRYPTOSTREAM_COMPOSE_PROJECT"] in line, line


@pytest.mark.parametrize("command", CHECKS)
def test_checks_of_a_stopped_native_stack_fail_naming_each_endpoint(command, stopped_env) -> None:
    """--native, stack down: a finding (exit 2), every unreachable part named with host:port or socket and
    what to do, one line per row, no traceback; a program that is not running is not UNKNOWN."""
    result = run(command, "--json", "--native", env=stopped_env)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    report = json.loads(result.stdout)
    failed = [r for r in report["results"] if r["status"] == "FAIL"]
    assert failed and not [r for r in report["results"] if r["status"] == "UNKNOWN"], report
    endpoints = (stopped_env["CRYPTOSTREAM_KAFKA_BOOTSTRAP_SERVERS"], f"127.0.0.1:{stopped_env['CRYPTOSTREAM_MYSQL_PORT']}",
                 "supervisor.sock")
    for row in failed:
        assert "\n" not in row["detail"] and "bin/" in row["detail"], row
        assert any(endpoint in row["detail"] for endpoint in endpoints), row


@pytest.mark.parametrize("command,args,names", [
    ("reconcile", [], "mysql"), ("mysql", ["-e", "SELECT 1"], "mysql"), ("backup", ["--native"], "socket"),
    ("supervisorctl", ["--native", "status"], "supervisor.sock"), ("logs", ["--native", "--no-follow"], "producer.log"),
    ("restart", ["processor", "--native"], "supervisor.sock"), ("supervisorctl", ["status"], "supervisor.sock"),
    ("logs", ["--no-follow"], "bin/up --docker"), ("restart", ["processor"], "no stack is running"),
    ("backup", ["--docker"], "compose project"), ("restart", ["kafka", "--docker"], "compose project"),
])
def test_commands_with_nothing_running_say_where_in_one_line(command, args, names, stopped_env) -> None:
    result = run(command, *args, env=stopped_env)
    line = error_line(result)
    assert result.returncode == 2, (result.returncode, line)
    where = f"127.0.0.1:{stopped_env['CRYPTOSTREAM_MYSQL_PORT']}" if names == "mysql" else names
    assert where in line and "bin/" in line, line


def test_restore_with_nothing_running_checks_the_file_then_names_the_socket(stopped_env, tmp_path) -> None:
    from tests.helpers.backups import make_backup
    dump = make_backup(tmp_path)
    line = error_line(result := run("restore", str(dump), "--native", env=stopped_env))
    assert result.returncode == 2, line
    assert "mysqld.sock" in line, line
    assert "bin/status" in line, line


def test_restore_names_the_missing_file(tmp_path) -> None:
    missing = tmp_path / "crypto_streaming-20260101T000000Z.sql.gz"
    result = run("restore", str(missing), env=clean_env(tmp_path))
    assert result.returncode == 2
    assert str(missing) in error_line(result)


def test_restore_over_the_live_database_needs_yes(tmp_path) -> None:
    from tests.helpers.backups import make_backup
    result = run("restore", str(make_backup(tmp_path)), "--database", "crypto_streaming", env=clean_env(tmp_path))
    line = error_line(result)
    assert result.returncode == 2, line
    assert "live database" in line, line
    assert "--yes" in line, line


def test_reconcile_rejects_a_time_it_cannot_read(tmp_path) -> None:
    result = run("reconcile", "--since", "yesterday", env=clean_env(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--since" in result.stderr
    assert "'yesterday'" in result.stderr
    assert "2h" in result.stderr
