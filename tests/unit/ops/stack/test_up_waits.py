"""bin/up's waits say what they wait for and, on timeout, what is missing and where to look."""
from __future__ import annotations

import time

import pytest

from cryptostream.core.config import load
from cryptostream.ops.stack import native as stack
from cryptostream.core.ports import free_port


def test_a_rows_timeout_names_the_missing_symbols_and_the_logs(tmp_path, capsys) -> None:
    """With nothing answering on the MySQL port, the wait ends naming every symbol still
    without rows and the command to look with."""
    config = load(env={"CRYPTOSTREAM_HOME": str(tmp_path), "CRYPTOSTREAM_MYSQL_PORT": str(free_port()),
                       "CRYPTOSTREAM_EXCHANGE_SYMBOLS": "BTCUSDT,ETHUSDT"})
    started = time.monotonic()
    with pytest.raises(TimeoutError) as failure:
        stack.wait_for_rows(config, 0.3)
    assert time.monotonic() - started < 1.5, "the wait outlived its timeout (slept a whole 2 s poll)"
    message = str(failure.value)
    assert "no rows for BTCUSDT, ETHUSDT after 0.3s" in message
    assert "bin/logs producer" in message
    assert "waiting up to 0.3s for rows of all 2 symbols" in capsys.readouterr().out


class GaveUp:
    """A stack whose supervisord gave up on the producer (the states and log bin/up reads)."""
    def is_up(self) -> bool:
        return True

    def program_states(self) -> dict:
        return {"producer": {"statename": "FATAL"}, "processor": {"statename": "RUNNING"}}

    def log_lines(self, program: str, hours: float) -> list[str]:
        return [f"{program} line {n}" for n in range(40)]

    def logs_hint(self, program: str) -> str:
        return f"bin/logs {program}"


def test_a_program_supervisord_gave_up_on_ends_the_wait_with_its_last_lines(capsys) -> None:
    """No row can come from a FATAL producer: bin/up says so and shows why instead of waiting on."""
    with pytest.raises(RuntimeError) as failure:
        stack.require_pipeline_running(GaveUp())
    assert "producer is FATAL" in str(failure.value) and "bin/logs producer" in str(failure.value)
    shown = capsys.readouterr().out
    assert "producer line 39" in shown and f"producer line {39 - stack.LAST_LINES}" not in shown
