"""The dashboard in the app container (bin/up --docker): the app's supervisord runs it beside the
pipeline, bin/status --docker shows it, it serves every window MySQL has, and it reads the
container's MySQL as a SELECT-only account, which the image's init creates on a new data volume
and bin/up --docker creates again on one from before the dashboard."""
from __future__ import annotations

import re

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


def test_bin_up_creates_the_account_on_a_volume_from_before_the_dashboard(compose_stack) -> None:
    """A data volume initialised before the dashboard existed has no reader account: drop it, as
    such a volume would be, and bin/up --docker again makes it, and the page reads again. The
    running app is left alone: the same code builds the same image, so compose keeps its container."""
    app_before = compose_stack.container("app"), compose_stack.inspect("app")["State"]["StartedAt"]
    dropped = compose_stack.mysql_as_root(f"DROP USER '{READER}'@'%'")
    assert dropped.returncode == 0, dropped.stderr
    with pytest.raises(mysql.connector.Error):
        db.connect_reader(compose_stack.config).close()
    compose_stack.start()
    assert (compose_stack.container("app"), compose_stack.inspect("app")["State"]["StartedAt"]) == app_before
    db.connect_reader(compose_stack.config).close()
    assert candles(compose_stack)
    # the package's other tests go on with this stack: leave it working
    wait_until(lambda: compose_stack.health("app") == "healthy", "app healthy", 240, 2)
