"""The MySQL sink against a real private MariaDB: exactly-once batches and exact merges."""
from __future__ import annotations

import dataclasses
import shutil
import subprocess
import zlib
from datetime import datetime
from decimal import Decimal

import pytest

from cryptostream.core import db
from cryptostream.core.config import Config, Secret
from cryptostream.ops.stack import provisioning
from cryptostream.pipeline.processor.counted_ranges import CountedRange
from cryptostream.pipeline.processor.reject_rows import reject_chunks
from cryptostream.pipeline.processor.sink import MySQLSink
from cryptostream.pipeline.processor.windows import Window, epoch_ms
from tests.helpers.harness import query

pytestmark = pytest.mark.integration  # a private MariaDB (tests/integration/conftest.py: mysql_config)

START = datetime(2026, 1, 2, 3, 4, 0)


def window(symbol: str, prices: list[str], first_second: int) -> Window:
    values = [Decimal(p) for p in prices]
    first = START.replace(second=first_second)
    last = START.replace(second=first_second + len(prices) - 1)
    return Window(symbol, START, sum(values), len(values), min(values), max(values), values[0], values[-1],
                  first, last, last)


def stored(config: Config, symbol: str) -> tuple:
    return query(config, "SELECT sample_count, price_sum, average_price, min_price, max_price, open_price, "
                         "close_price FROM moving_averages WHERE symbol = %s", (symbol,))[0]


def test_a_replayed_batch_is_skipped(mysql_config: Config) -> None:
    """Writing batch N twice (Spark's replay after a crash) counts its prices once."""
    sink = MySQLSink(mysql_config)
    batch = [window("BTCUSDT", ["10", "20"], 1)]
    assert not sink.write_batch(100, batch, [], {}, 0).skipped
    assert sink.write_batch(100, batch, [], {}, 0).skipped
    assert stored(mysql_config, "BTCUSDT")[:2] == (2, Decimal("30"))
    sink.close()


def test_later_batches_extend_a_window_exactly(mysql_config: Config) -> None:
    """Partial aggregates merge: exact sum and count, min/max, open earliest, close latest."""
    sink = MySQLSink(mysql_config)
    sink.write_batch(200, [window("ETHUSDT", ["3.00000001", "1"], 10)], [], {}, 0)
    sink.write_batch(201, [window("ETHUSDT", ["2", "5"], 5)], [], {}, 0)   # earlier prices, later batch
    sink.write_batch(202, [window("ETHUSDT", ["4"], 30)], [], {}, 0)
    count, total, average, low, high, first, last = stored(mysql_config, "ETHUSDT")
    assert (count, total, low, high, first, last) == (5, Decimal("15.00000001"), 1, 5, 2, 4)
    assert average == Decimal("3.000000002000")
    sink.close()


def test_rejected_messages_are_stored_once(mysql_config: Config) -> None:
    """A rejected message keeps its raw bytes and reason, once, even if its batch is re-sent."""
    sink = MySQLSink(mysql_config)
    reject = {"topic": "crypto_prices", "partition": 1, "offset": 42, "record_ms": 1_700_000_000_000,
              "key": b"BTCUSDT", "value": b"\xff not json", "reason": "not_json"}
    sink.write_batch(300, [], [reject], {}, 0)
    sink.write_batch(301, [], [reject], {}, 0)
    rows = query(mysql_config, "SELECT raw_value, reason FROM rejected_messages WHERE kafka_offset = 42")
    assert rows == [(b"\xff not json", "not_json")]
    sink.close()


def test_progress_keeps_batch_watermark_and_offsets(mysql_config: Config) -> None:
    """What the processor reads at each batch start is what the last batch committed."""
    sink = MySQLSink(mysql_config)
    sink.write_batch(400, [], [], {"crypto_prices": {"0": 17}}, 123_456)
    assert sink.progress() == (400, 123_456, {"crypto_prices": {"0": 17}})
    sink.close()


def test_counted_ranges_find_an_earlier_batch_only_where_they_overlap(mysql_config: Config) -> None:
    """A batch's counted ranges are found by a later batch whose time range overlaps them in the
    same window, or whose trade-id range overlaps them in any window, with the offsets to read
    back; not by one that follows them (the normal case), another symbol or another kind of
    key; once the watermark closes the window they are forgotten (a copy is late by then)."""
    sink = MySQLSink(mysql_config)
    start = START.replace(hour=5)
    offsets = {"crypto_prices": {"2": [40, 47]}}
    sink.write_batch(500, [], [], {}, 0, [CountedRange("SOLUSDT", start, (1000, 1003), (7, 9), offsets)])

    def found(times, trades=None, symbol="SOLUSDT", window=start) -> list:
        return [(batch_id, r.window_start, r.offsets) for batch_id, r in
                sink.counted_before([CountedRange(symbol, window, times, trades)]).ranges]
    assert found((1003, 1005)) == [(500, start, offsets)]
    assert found(None, (9, 12)) == [(500, start, offsets)]
    later_window = start.replace(minute=start.minute + 1)
    assert found(None, (8, 8), window=later_window) == [(500, start, offsets)]  # a trade's copy at another time
    assert found((1003, 1005), window=later_window) == []  # a time is in its own window only
    assert found((1004, 1005), (10, 12)) == []  # after it: nothing to look up
    assert found((990, 999)) == []
    assert found((1000, 1000), symbol="BNBUSDT") == []
    assert found(None, (1000, 1003)) == []  # trade ids are not times
    window_end_ms = epoch_ms(start) + 60_000
    sink.write_batch(501, [], [], {}, window_end_ms - 1)
    assert found((1003, 1005)) == [(500, start, offsets)]
    sink.write_batch(502, [], [], {}, window_end_ms)
    assert found((1003, 1005)) == []
    sink.close()


def test_key_lists_of_the_old_counted_keys_table_carry_over(mysql_config: Config) -> None:
    """A database whose processor kept every key (counted_keys, before 2026-12): bin/up moves
    the rows to counted_ranges and drops the old table; a later batch in such a window gets the
    keys as stored, whatever its range."""
    start = START.replace(hour=6)
    connection = db.connect(mysql_config, admin=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE counted_keys (symbol VARCHAR(20) NOT NULL, window_start DATETIME(3) NOT NULL, "
                           "batch_id BIGINT NOT NULL, first_event_ms BIGINT NOT NULL, last_event_ms BIGINT NOT NULL, "
                           "key_list LONGBLOB NOT NULL, PRIMARY KEY (symbol, window_start, batch_id))")
            cursor.execute("INSERT INTO counted_keys VALUES ('ETHUSDT', %s, 90, 5, 6, %s)",
                           (start, zlib.compress(b"a:5,a:6")))
        connection.commit()
    finally:
        connection.close()
    provisioning.bootstrap(mysql_config)
    tables = query(mysql_config, "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                   (mysql_config.mysql.database,))
    assert ("counted_keys",) not in tables
    sink = MySQLSink(mysql_config)
    earlier = sink.counted_before([CountedRange("ETHUSDT", start, (100, 200), None)])
    assert earlier.keys == {("ETHUSDT", "a:5"), ("ETHUSDT", "a:6")} and earlier.ranges == ()
    sink.close()


def test_trade_windows_keep_volume_notional_and_vwap(mysql_config: Config) -> None:
    """Volume and notional add up across batches; vwap = notional / volume; a window of price
    samples has none."""
    sink = MySQLSink(mysql_config)
    start = START.replace(hour=7)
    first = window("ADAUSDT", ["10"], 1)
    sink.write_batch(600, [Window(**{**first.__dict__, "start": start, "volume": Decimal(1), "notional": Decimal(10)})],
                     [], {}, 0)
    later = window("ADAUSDT", ["13"], 2)
    sink.write_batch(601, [Window(**{**later.__dict__, "start": start, "volume": Decimal(3), "notional": Decimal(39)})],
                     [], {}, 0)
    row = query(mysql_config, "SELECT volume, notional, vwap FROM moving_averages WHERE symbol = 'ADAUSDT' "
                              "AND start_time = %s", (start,))
    assert row == [(Decimal("4.00000000"), Decimal("49.0000000000000000"), Decimal("12.250000000000"))]
    assert query(mysql_config, "SELECT vwap FROM moving_averages WHERE symbol = 'BTCUSDT'")[0] == (None,)
    sink.close()


def test_bootstrap_adds_columns_an_older_schema_lacks(mysql_config: Config) -> None:
    """A moving_averages table made before vwap existed gets the column at the next bin/up."""
    connection = db.connect(mysql_config, admin=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE moving_averages DROP COLUMN vwap")
    finally:
        connection.close()
    provisioning.bootstrap(mysql_config)
    column = query(mysql_config, "SELECT column_type, is_nullable FROM information_schema.columns WHERE "
                                 "table_schema = %s AND table_name = 'moving_averages' AND column_name = 'vwap'",
                   (mysql_config.mysql.database,))
    assert column == [("decimal(32,12)", "YES")], f"vwap after bootstrap: {column}"


def test_rejects_are_inserted_in_bounded_chunks() -> None:
    """Chunks hold at most the row limit and about the byte limit of keys and values; every
    row is kept, in order; a single oversized row goes alone rather than being lost."""
    rows = [("t", 0, i, None, b"k", b"v" * size, size, "0" * 64, "not_json")
            for i, size in enumerate([10] * 7 + [5_000, 10, 10])]
    chunks = list(reject_chunks(rows, rows=3, size=1_000))
    assert [r for chunk in chunks for r in chunk] == rows
    assert all(len(chunk) <= 3 for chunk in chunks)
    assert all(sum(len(r[4]) + len(r[5]) for r in chunk) <= 1_000 or len(chunk) == 1 for chunk in chunks)
    assert [len(c) for c in chunks] == [3, 3, 1, 1, 2]


def test_many_rejects_with_cut_values_are_stored_with_length_and_hash(mysql_config: Config) -> None:
    """10,000 rejects in one batch (20 chunks), each with the prefix the JVM cut, the full
    length and SHA-256 of its value, and an out-of-range Kafka time stored as NULL."""
    sink = MySQLSink(mysql_config)
    rejects = [{"topic": "crypto_prices", "partition": 2, "offset": n, "record_ms": -5 if n == 0 else 1_700_000_000_000,
                "key": b"K" * 256, "value": b"x" * 1024, "value_length": 1_000_000, "value_sha256": "ab" * 32,
                "reason": "too_large"} for n in range(10_000)]
    result = sink.write_batch(700, [], rejects, {}, 0)
    assert result.rejected == 10_000
    rows = query(mysql_config, "SELECT COUNT(*), MAX(LENGTH(raw_value)), MIN(raw_length), MIN(raw_sha256), "
                               "SUM(kafka_timestamp IS NULL) FROM rejected_messages WHERE kafka_partition = 2")
    assert rows == [(10_000, 1024, 1_000_000, "ab" * 32, 1)]
    sink.close()


def test_a_quarantined_batch_is_recorded_by_position_and_applied(mysql_config: Config) -> None:
    """A batch stored as quarantined: every message by position, no content, the batch id and
    offsets committed (the query moves on), and a replay of it skipped."""
    sink = MySQLSink(mysql_config)
    messages = [{"topic": "crypto_prices", "partition": 3, "offset": n, "record_ms": 1_700_000_000_000,
                 "value_length": 10, "value_sha256": "cd" * 32, "reason": "quarantined"} for n in range(5)]
    assert sink.quarantine_batch(800, messages, {"crypto_prices": {"3": 5}}, 0).rejected == 5
    assert sink.quarantine_batch(800, messages, {"crypto_prices": {"3": 5}}, 0).skipped
    assert sink.progress()[0] == 800
    assert sink.progress()[2] == {"crypto_prices": {"3": 5}}
    assert query(mysql_config, "SELECT COUNT(*), COUNT(raw_value) FROM rejected_messages "
                               "WHERE reason = 'quarantined'") == [(5, 0)]
    assert sink.healthy()
    sink.close()


def test_option_files_carry_any_password(mysql_config: Config) -> None:
    """The [client] file written for the mysql tools quotes the password, so '#', quotes,
    backslashes and spaces reach the server intact (the real client logs in with it)."""
    password = 'a#b "c\' \\d\\\\e  f'
    admin = db.connect(mysql_config, admin=True, database=False)
    try:
        with admin.cursor() as cursor:
            cursor.execute("CREATE USER 'optfile'@'127.0.0.1' IDENTIFIED BY %s", (password,))
        user = dataclasses.replace(mysql_config.mysql, user="optfile", password=Secret(password))
        options = db.client_options_file(dataclasses.replace(mysql_config, mysql=user))
        client = shutil.which("mariadb") or shutil.which("mysql")
        who = subprocess.run([client, f"--defaults-file={options}", "-N", "-e", "SELECT CURRENT_USER()"],
                             capture_output=True, text=True, timeout=30)
        assert who.stdout.strip() == "optfile@127.0.0.1", who.stderr
        assert oct(options.stat().st_mode & 0o777) == "0o600"
    finally:
        with admin.cursor() as cursor:
            cursor.execute("DROP USER IF EXISTS 'optfile'@'127.0.0.1'")
        admin.close()
