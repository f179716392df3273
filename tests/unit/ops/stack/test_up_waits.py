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
