"""bin/restore's checks of a backup before MySQL is touched (cryptostream/ops/repair/backup_file.py): each
damaged or incomplete file is one clear error naming it. No server needed."""
from __future__ import annotations

from pathlib import Path

import pytest

from cryptostream.ops.deployment import NativeDeployment
from cryptostream.core.config import load
from cryptostream.ops.repair import backup_file, restore
from cryptostream.ops.cli import CommandError
from tests.helpers.backups import make_backup, rewrite_checksum


def problem(path: Path) -> str:
    with pytest.raises(CommandError) as caught:
        backup_file.read_backup(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_good_backup_reads(tmp_path) -> None:
    assert backup_file.read_backup(make_backup(tmp_path)).row_counts == {"moving_averages": 2000}


def test_missing_dump_is_named(tmp_path) -> None:
    missing = tmp_path / "nope.sql.gz"
    assert str(missing) in problem(missing)
    assert "not found" in problem(missing)


def test_empty_checksum_file(tmp_path) -> None:
    path = make_backup(tmp_path)
    path.with_name(path.name + ".sha256").write_text("")
    assert "is empty" in problem(path)
    assert ".sha256" in problem(path)


def test_checksum_file_without_a_sha256(tmp_path) -> None:
    path = make_backup(tmp_path)
    path.with_name(path.name + ".sha256").write_text("hello  world\n")
    assert "64 hex digits" in problem(path)


def test_missing_checksum_file(tmp_path) -> None:
    path = make_backup(tmp_path)
    path.with_name(path.name + ".sha256").unlink()
    assert "checksum file" in problem(path)
    assert "not found" in problem(path)


def test_damaged_dump_fails_the_checksum(tmp_path) -> None:
    path = make_backup(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert "checksum differs" in problem(path)


def test_truncated_dump_with_a_matching_checksum(tmp_path) -> None:
    """A dump cut short while it was written (full disk): the checksum matches what was written,
    the gzip stream does not end; found before anything is loaded."""
    path = make_backup(tmp_path, dump=bytes(range(256)) * 4000)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    rewrite_checksum(path)
    assert "truncated" in problem(path)
    assert str(path) in problem(path)


def test_not_gzip(tmp_path) -> None:
    path = make_backup(tmp_path)
    path.write_bytes(b"plain SQL, not compressed")
    rewrite_checksum(path)
    assert "not a readable gzip file" in problem(path)


@pytest.mark.parametrize("manifest,expected", [
    (None, "not found"),
    ("{not json", "not valid JSON"),
    ('{"database": "crypto_streaming"}', "no row_counts"),
    ('{"row_counts": {}}', "no row_counts"),
    ('[1, 2]', "no row_counts"),
    ('{"row_counts": {"moving_averages": "many"}}', "bad row count"),
    ('{"row_counts": {"x`; DROP DATABASE y; --": 1}}', "bad row count"),
    ('{"row_counts": {"moving_averages": -1}}', "bad row count"),
])
def test_bad_manifest(tmp_path, manifest, expected) -> None:
    path = make_backup(tmp_path)
    target = path.with_name(path.name + ".json")
    if manifest is None:
        target.unlink()
    else:
        target.write_text(manifest)
    assert expected in problem(path)
    assert ".json" in problem(path)


def test_live_database_needs_yes_before_anything_is_read(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CRYPTOSTREAM_HOME", str(tmp_path))
    config = load()
    with pytest.raises(CommandError, match="--yes"):
        restore.restore(NativeDeployment(config), tmp_path / "does-not-matter.sql.gz", config.mysql.database)


def test_staging_names_fit_and_cannot_be_targets(tmp_path, monkeypatch) -> None:
    assert len(restore._derived_name("x" * 64, restore.STAGING_SUFFIX)) == 64
    monkeypatch.setenv("CRYPTOSTREAM_HOME", str(tmp_path))
    with pytest.raises(CommandError, match="must match"):
        restore.restore(NativeDeployment(load()), make_backup(tmp_path), "crypto_streaming" + restore.STAGING_SUFFIX)
