"""The dashboard in the app container (bin/up --docker): the app's supervisord runs it beside the
pipeline, bin/status --docker shows it, it serves every window MySQL has, and it reads the
container's MySQL as a SELECT-only account, which the image's init creates on a new data volume
and bin/up --docker creates again on one of an older version, with this version's tables."""
from __future__ import annotations

import re
import subprocess

import mysql.connector
import pytest
import requests

from cryptostream.core import db, events
from cryptostream.ops import programs
from tests.helpers.harness import query
from tests.helpers.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.container]
READER = "cryptostream_reader"


def candles(compose_stack) -> list[dict]:
    answer = requests.get(f"http://127.0.0.1:{compose_stack.config.dashboard.port}/api/candles?range=1h", timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["rows"]


def windows_in_mysql(compose_stack) -> dict[str, int]:
    sql = ("SELECT symbol, COUNT(*) FROM moving_averages WHERE start_time >= UTC_TIMESTAMP(3) - INTERVAL 1 HOUR "
           "GROUP BY symbol")
    return dict(query(compose_stack.config, sql))


def refused(connection, sql: str) -> int | None:
    """The MySQL error number of running `sql`, or None when it ran."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            cursor.fetchall()
    except mysql.connector.Error as exc:
        return exc.errno
    return None


def test_the_app_runs_the_dashboard_and_status_shows_it(compose_stack) -> None:
    status = compose_stack.run("status", "--docker")
    assert status.returncode == 0, status.stdout + status.stderr
    assert re.search(r"^OK\s+dashboard\s+supervisord\s+RUNNING", status.stdout, re.MULTILINE), status.stdout
    assert f'"event": "{events.STARTED}"' in compose_stack.log(programs.DASHBOARD)  # its JSON lines, in the app's output


def test_it_serves_every_window_of_the_hour(compose_stack) -> None:
    # windows keep coming while the page and MySQL are read: bracket the page's answer
    before = windows_in_mysql(compose_stack)
    shown = candles(compose_stack)
    after = windows_in_mysql(compose_stack)
    for symbol in compose_stack.config.exchange.symbols:
        count = sum(1 for row in shown if row["symbol"] == symbol)
        assert before.get(symbol, 0) <= count <= after.get(symbol, 0), (symbol, before, count, after)
        assert count > 0, symbol


def test_its_account_reads_the_windows_and_nothing_else(compose_stack) -> None:
    connection = db.connect_reader(compose_stack.config)
    try:
        assert refused(connection, "SELECT COUNT(*) FROM moving_averages") is None
        assert refused(connection, "DELETE FROM moving_averages") == 1142  # command denied
        assert refused(connection, "SELECT COUNT(*) FROM rejected_messages") == 1142
    finally:
        connection.close()


def test_bin_up_again_leaves_the_running_app_alone(compose_stack) -> None:
    """The same code builds the same image, so a second bin/up --docker keeps the app's container
    (and its running pipeline) instead of recreating it."""
    before = compose_stack.container("app"), compose_stack.inspect("app")["State"]["StartedAt"]
    compose_stack.start()
    assert (compose_stack.container("app"), compose_stack.inspect("app")["State"]["StartedAt"]) == before


def test_bin_up_brings_a_volume_of_an_older_version_up_to_date(compose_stack) -> None:
    """A data volume initialised by an older version lacks this version's tables and accounts (the
    image's init runs on a new volume only): with the app stopped, drop the dashboard's account and
    the newest table, as such a volume would be, and bin/up --docker makes both again before the
    app starts; the page reads again and the app turns healthy."""
    stopped = subprocess.run(["docker", "stop", compose_stack.container("app")], capture_output=True, text=True,
                             timeout=200)
    assert stopped.returncode == 0, stopped.stderr
    dropped = compose_stack.mysql_as_root(f"DROP USER '{READER}'@'%'; DROP TABLE crypto_streaming.message_latency")
    assert dropped.returncode == 0, dropped.stderr
    with pytest.raises(mysql.connector.Error):
        db.connect_reader(compose_stack.config).close()
    compose_stack.start()
    assert query(compose_stack.config, "SHOW TABLES LIKE 'message_latency'")
    db.connect_reader(compose_stack.config).close()
    assert candles(compose_stack)
    # the package's other tests go on with this stack: leave it working
    wait_until(lambda: compose_stack.health("app") == "healthy", "app healthy", 240, 2)
