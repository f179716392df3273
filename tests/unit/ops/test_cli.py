"""The shared failure handling of the operator commands (cryptostream/ops/cli.py), the checks'
UNKNOWN status, and bin/reconcile's --since/--until forms."""
from __future__ import annotations

import argparse
import json
import subprocess

import mysql.connector
import pytest
from kafka.errors import KafkaTimeoutError

from cryptostream.core.config import ConfigError
from cryptostream.ops import checks, cli
from cryptostream.ops.health import daily_check
from cryptostream.ops.checks import Status, ok, run_all, warn, worst
from cryptostream.ops.reconcile import time_ms


def test_config_error_names_the_variable_when_it_comes_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("CRYPTOSTREAM_KAFKA_PORT", "abc")
    line = cli.describe(ConfigError("kafka.port: expected a whole number (got 'abc')"))
    assert line.startswith("configuration: kafka.port")
    assert "CRYPTOSTREAM_KAFKA_PORT" in line


def test_config_error_points_at_the_file_otherwise(monkeypatch) -> None:
    monkeypatch.delenv("CRYPTOSTREAM_KAFKA_PORT", raising=False)
    monkeypatch.setenv("CRYPTOSTREAM_CONFIG", "/etc/cs.ini")
    assert "fix it in /etc/cs.ini" in cli.describe(ConfigError("kafka.port: bad"))


def test_mysql_refused_names_host_port_and_what_to_do() -> None:
    error = mysql.connector.errors.InterfaceError(
        msg="Can't connect to MySQL server on '127.0.0.1:3307' (Errno 111: Connection refused)", errno=2003)
    line = cli.describe(error)
    assert "127.0.0.1:3307" in line
    assert "bin/status" in line
    assert cli.unreachable(error)


def test_mysql_login_refused_is_a_setting_not_an_outage() -> None:
    error = mysql.connector.errors.ProgrammingError(msg="Access denied for user 'x'", errno=1045)
    assert "mysql.user" in cli.describe(error)
    assert not cli.unreachable(error)


def test_kafka_unreachable_names_the_servers(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CRYPTOSTREAM_HOME", str(tmp_path))
    monkeypatch.setenv("CRYPTOSTREAM_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    error = KafkaTimeoutError("Unable to bootstrap from 127.0.0.1:19092")
    assert "Kafka at 127.0.0.1:19092 is not reachable" in cli.describe(error)
    assert cli.unreachable(error)


def test_file_errors_name_the_file() -> None:
    assert "/x/y" in cli.describe(PermissionError(13, "Permission denied", "/x/y"))
    assert "/x/z" in cli.describe(FileNotFoundError(2, "No such file or directory", "/x/z"))
    # our own FileNotFoundError("... run bin/up") carries its advice: passed through, not called a bug
    assert cli.describe(FileNotFoundError("no Kafka jars in /j: run bin/up")) == "no Kafka jars in /j: run bin/up"


def test_failed_tool_shows_its_last_line() -> None:
    error = subprocess.CalledProcessError(7, ["/usr/bin/supervisorctl", "stop"], stderr="a\nERROR (no such process)\n")
    assert cli.describe(error) == "supervisorctl exited with 7: ERROR (no such process)"


def test_a_bug_is_one_line_saying_so() -> None:
    try:
        {}["missing"]
    except KeyError as exc:
        line = cli.describe(exc)
    assert line.startswith("unexpected KeyError at test_cli.py:")
    assert "bug" in line
    assert "\n" not in line


def test_long_multi_line_messages_become_one_bounded_line() -> None:
    assert cli.one_line("a\n  b\n\nc") == "a b c"
    long = cli.one_line("bin/up failed:\n" + "x" * 5000 + "\nthe cause")
    assert len(long) == cli.MAX_LINE
    assert long.startswith("bin/up failed:")
    assert long.endswith("the cause")


def test_runtime_errors_carry_their_advice_but_recursion_is_a_bug() -> None:
    assert cli.describe(RuntimeError("restart of kafka failed")) == "restart of kafka failed"
    assert cli.describe(RecursionError("maximum recursion depth exceeded")).startswith("unexpected RecursionError")


@pytest.mark.parametrize("exit_code", [cli.FAILED, cli.UNKNOWN])
def test_command_turns_any_exception_into_one_line_and_its_exit_code(exit_code, capsys) -> None:
    @cli.command(exit_code)
    def main(argv=None) -> int:
        raise ConfigError("mysql.port: must be 1-65535, got 0")
    assert main() == exit_code
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: configuration: mysql.port")


def test_command_maps_usage_errors_to_unknown_for_checks(capsys) -> None:
    @cli.command(cli.UNKNOWN)
    def main(argv=None) -> int:
        argparse.ArgumentParser(prog="x").parse_args(argv)
        return 0
    with pytest.raises(SystemExit) as exited:
        main(["--nope"])
    assert exited.value.code == 3
    with pytest.raises(SystemExit) as helped:  # --help still exits 0
        main(["--help"])
    assert helped.value.code == 0


def test_command_keeps_the_return_code() -> None:
    assert cli.command()(lambda argv=None: 1)() == 1


def test_a_crashing_check_is_unknown_an_unreachable_part_fails() -> None:
    def crash():
        raise ZeroDivisionError("division by zero")

    def down():
        raise cli.Unavailable("supervisord is not running (no answer on /s); start the stack with bin/up")
    results = run_all([("a", "ok", lambda: ok("a", "ok", "fine")), ("a", "crash", crash), ("a", "down", down)])
    by_name = {r.check: r for r in results}
    assert by_name["crash"].status is Status.UNKNOWN
    assert "ZeroDivisionError" in by_name["crash"].detail
    assert by_name["down"].status is Status.FAIL
    assert "/s" in by_name["down"].detail


@pytest.mark.parametrize("statuses,expected", [
    ((Status.OK, Status.WARN), Status.WARN),
    ((Status.WARN, Status.UNKNOWN), Status.UNKNOWN),  # a crash never reads as WARN
    ((Status.UNKNOWN, Status.FAIL), Status.FAIL),     # a confirmed failure outranks "could not check"
    ((), Status.OK),
])
def test_worst(statuses, expected) -> None:
    assert worst(checks.Result("c", "x", s, "") for s in statuses) is expected


def test_daily_check_with_a_crashing_check_exits_unknown_not_warn(monkeypatch, tmp_path, capsys) -> None:
    """One check raising an unexpected error among OK and WARN ones: that row UNKNOWN with the
    one-line reason, the command exits 3."""
    monkeypatch.setenv("CRYPTOSTREAM_HOME", str(tmp_path))

    def broken():
        raise TypeError("unsupported operand type(s) for -: 'NoneType' and 'int'")
    monkeypatch.setattr(daily_check.DailyCheck, "checks", lambda self: [
        ("kafka", "topic", lambda: ok("kafka", "topic", "fine")),
        ("spark", "lag", lambda: warn("spark", "lag", "a bit behind")),
        ("mysql", "account", broken)])
    assert daily_check.main(["--json", "--native"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "UNKNOWN"
    row = [r for r in report["results"] if r["check"] == "account"][0]
    assert row["status"] == "UNKNOWN"
    assert row["detail"].startswith("unexpected TypeError at ")


NOW = 1_764_000_000.0


@pytest.mark.parametrize("text,expected_s", [
    ("2h", NOW - 7200), ("30m", NOW - 1800), ("90s", NOW - 90), ("1d", NOW - 86400), ("1.5h", NOW - 5400),
    ("2026-12-01T10:00:00Z", 1796119200), ("2026-12-01T10:00:00", 1796119200),  # naive = UTC
    ("2026-12-01T12:00:00+02:00", 1796119200), ("2026-12-01 10:00", 1796119200), ("2026-12-01", 1796083200),
])
def test_reconcile_times(text, expected_s) -> None:
    assert time_ms(text, now=NOW) == int(expected_s * 1000)


@pytest.mark.parametrize("text", ["yesterday", "2 hours", "-2h", "2w", "", "2026-13-01"])
def test_reconcile_rejects_other_times(text) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="ISO-8601.*2h"):
        time_ms(text, now=NOW)
