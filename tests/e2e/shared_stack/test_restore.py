"""bin/restore against the real native stack: the restore goes through a staging database and
one RENAME TABLE, so a dump that fails half-way, or whose row counts do not match its manifest,
leaves the target (also the live database) exactly as it was; over the live database it needs
--yes and stops and starts the processor around the swap."""
from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from cryptostream.core import db
from cryptostream.ops.repair import restore
from tests.helpers.backups import rewrite_checksum
from tests.helpers.stack import NativeStack

pytestmark = pytest.mark.e2e
LIVE = "crypto_streaming"


@pytest.fixture(scope="module")
def good_backup(stack) -> Path:
    made = stack.run("backup", "--keep", "5")
    assert made.returncode == 0, made.stderr
    return Path(made.stdout.splitlines()[0])


def admin_rows(stack: NativeStack, sql: str) -> list[tuple]:
    connection = db.connect(stack.config, admin=True, database=False)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        connection.close()


def counts(stack: NativeStack, database: str) -> dict[str, int]:
    return restore.row_counts(stack.deployment, database)


def leftovers(stack: NativeStack) -> list[str]:
    """Staging or side databases a restore left behind."""
    return [row[0] for row in admin_rows(stack, "SHOW DATABASES") if "_cs_restore_" in row[0]]


def processor_pid(stack: NativeStack) -> int:
    return int(stack.ctl("pid", "processor").strip())


def copy_backup(source: Path, folder: Path) -> Path:
    for suffix in ("", ".sha256", ".json"):
        shutil.copy(source.with_name(source.name + suffix), folder / (source.name + suffix))
    return folder / source.name


def failing_halfway(source: Path, folder: Path) -> Path:
    """The same dump with a statement that fails in the middle of the INSERTs (checksum redone),
    as a dump damaged before it was checksummed would."""
    path = copy_backup(source, folder)
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    inserts = [i for i, line in enumerate(lines) if line.startswith(b"INSERT INTO `moving_averages`")]
    # bin/up returns once every symbol has a row, so the dump holds at least one row per symbol;
    # two rows are enough for a failure with a row loaded before it and one after.
    assert len(inserts) >= 2, f"the dump should hold rows on both sides of the failure, has {len(inserts)}"
    lines.insert(inserts[len(inserts) // 2], b"INSERT INTO `no_such_table` VALUES (1);\n")
    path.write_bytes(gzip.compress(b"".join(lines)))
    rewrite_checksum(path)
    return path


def one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("==>")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_restore_into_another_database_matches_the_manifest(stack, good_backup) -> None:
    restored = stack.run("restore", str(good_backup), "--database", "copy_a")
    assert restored.returncode == 0, restored.stderr
    manifest = json.loads(good_backup.with_name(good_backup.name + ".json").read_text())
    assert counts(stack, "copy_a") == manifest["row_counts"]
    assert manifest["row_counts"]["moving_averages"] > 0
    assert leftovers(stack) == []


def test_dump_failing_halfway_leaves_the_target_as_it_was(stack, good_backup, tmp_path) -> None:
    assert stack.run("restore", str(good_backup), "--database", "copy_b").returncode == 0
    admin_rows(stack, "DELETE FROM copy_b.moving_averages ORDER BY start_time LIMIT 3")  # differs from the dump
    before = counts(stack, "copy_b")
    result = stack.run("restore", str(failing_halfway(good_backup, tmp_path)), "--database", "copy_b")
    line = one_error_line(result)
    assert result.returncode == 2, line
    assert "loading" in line, line
    assert "no_such_table" in line, line
    assert "not touched" in line, line
    assert counts(stack, "copy_b") == before
    assert leftovers(stack) == []


def test_row_counts_differing_from_the_manifest_leave_the_target_as_it_was(stack, good_backup, tmp_path) -> None:
    path = copy_backup(good_backup, tmp_path)
    manifest_file = path.with_name(path.name + ".json")
    manifest = json.loads(manifest_file.read_text())
    manifest["row_counts"]["moving_averages"] += 1
    manifest_file.write_text(json.dumps(manifest))
    assert stack.run("restore", str(good_backup), "--database", "copy_c").returncode == 0
    before = counts(stack, "copy_c")
    result = stack.run("restore", str(path), "--database", "copy_c")
    assert result.returncode == 2
    assert "row counts differ" in one_error_line(result)
    assert counts(stack, "copy_c") == before
    assert leftovers(stack) == []


def without_table(source: Path, folder: Path, table: str) -> Path:
    """The backup as an older version made it, before `table` existed: neither the dump nor
    the manifest has it (checksum redone)."""
    path = copy_backup(source, folder)
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    # mysqldump writes each table as a section headed "--" / "-- Table structure for table `t`"
    headers = [i - 1 for i, line in enumerate(lines) if line.startswith(b"-- Table structure for table")]
    start = headers.index(lines.index(f"-- Table structure for table `{table}`\n".encode()) - 1)
    assert start + 1 < len(headers), f"{table} should not be the dump's last table"
    path.write_bytes(gzip.compress(b"".join(lines[:headers[start]] + lines[headers[start + 1]:])))
    rewrite_checksum(path)
    manifest_file = path.with_name(path.name + ".json")
    manifest = json.loads(manifest_file.read_text())
    del manifest["row_counts"][table]
    manifest_file.write_text(json.dumps(manifest))
    return path


def test_a_pipeline_table_the_backup_lacks_is_emptied(stack, good_backup, tmp_path) -> None:
    """Its rows belong to batches the restore takes back: counted_ranges left as it was would
    make the replayed prices look like copies of themselves."""
    assert stack.run("restore", str(good_backup), "--database", "copy_d").returncode == 0
    admin_rows(stack, "INSERT INTO copy_d.counted_ranges (symbol, window_start, batch_id, first_time_ms, "
                      "last_time_ms) VALUES ('BTCUSDT', '2026-01-01 00:00:00', 999999, 1, 2)")
    result = stack.run("restore", str(without_table(good_backup, tmp_path, "counted_ranges")), "--database", "copy_d")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "emptied counted_ranges" in result.stdout
    after = counts(stack, "copy_d")
    assert after["counted_ranges"] == 0
    manifest = json.loads(good_backup.with_name(good_backup.name + ".json").read_text())
    assert {t: n for t, n in after.items() if t != "counted_ranges"} == \
        {t: n for t, n in manifest["row_counts"].items() if t != "counted_ranges"}
    assert leftovers(stack) == []


def test_dump_failing_halfway_over_the_live_database_changes_nothing(stack, good_backup, tmp_path) -> None:
    """Loading fails in staging, before the processor is touched: the live rows stay (they only
    grow while the pipeline runs) and the processor keeps its pid."""
    pid, before = processor_pid(stack), counts(stack, LIVE)["moving_averages"]
    result = stack.run("restore", str(failing_halfway(good_backup, tmp_path)), "--database", LIVE, "--yes")
    assert result.returncode == 2
    assert "loading" in one_error_line(result)
    assert counts(stack, LIVE)["moving_averages"] >= before
    assert processor_pid(stack) == pid
    assert leftovers(stack) == []


def test_live_database_without_yes_is_refused(stack, good_backup) -> None:
    pid, before = processor_pid(stack), counts(stack, LIVE)["moving_averages"]
    result = stack.run("restore", str(good_backup), "--database", LIVE)
    assert result.returncode == 2
    assert "--yes" in one_error_line(result)
    assert processor_pid(stack) == pid
    assert counts(stack, LIVE)["moving_averages"] >= before


def test_live_database_with_yes_swaps_and_restarts_the_processor(stack, good_backup) -> None:
    """Runs last: the live tables become the backup's, the processor is stopped for the swap and
    started again (a new pid that applies micro-batches), the app user still reads the tables."""
    pid = processor_pid(stack)
    manifest = json.loads(good_backup.with_name(good_backup.name + ".json").read_text())
    result = stack.run("restore", str(good_backup), "--database", LIVE, "--yes", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stopping the processor" in result.stdout
    assert "row counts verified" in result.stdout
    assert processor_pid(stack) not in (0, pid)
    assert counts(stack, LIVE)["moving_averages"] >= manifest["row_counts"]["moving_averages"]
    assert leftovers(stack) == []
    read = stack.run("mysql", "-e", "SELECT COUNT(*) FROM moving_averages")
    assert read.returncode == 0, read.stderr
    assert stack.run("status").returncode == 0
