"""bin/backup and bin/restore: runbook section 4.3.

backup   mariadb-dump/mysqldump of the database (one consistent transaction), gzip, a
         timestamped name under var/backups, a .sha256 beside it and a manifest of row counts;
         the oldest beyond --keep are removed.
restore  checks the checksum, loads the dump into a named database and verifies that every
         table has the row count the manifest recorded.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import mysql.connector

from cryptostream import config as config_module
from cryptostream import db
from cryptostream.config import Config
from cryptostream.ops.database import TABLES
from cryptostream.services.mysql_server import find

_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def backup_dir(config: Config) -> Path:
    return config.var_dir / "backups"


def client_options(config: Config) -> Path:
    """Dump and restore run as the private instance's administrator, else as the app user
    (enough to dump; restoring into another database then needs CREATE on it)."""
    return db.client_options_file(config, admin=config.mysql.private_instance)


def row_counts(config: Config, database: str) -> dict[str, int]:
    """Rows per table of `database`, as the administrator (it may be a restored copy)."""
    connection = db.connect(config, admin=config.mysql.private_instance, database=False)
    try:
        with connection.cursor() as cursor:
            counts = {}
            for table in TABLES:
                # identifiers: TABLES is a constant, database matched _NAME or is the configured one
                cursor.execute(f"SELECT COUNT(*) FROM `{database}`.`{table}`")  # nosec B608
                counts[table] = cursor.fetchone()[0]
            return counts
    finally:
        connection.close()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def backup(config: Config, keep: int) -> Path:
    folder = backup_dir(config)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = folder / f"{config.mysql.database}-{stamp}.sql.gz"
    # one INSERT per row, so the manifest counts exactly what this snapshot holds
    dump = [find("mariadb-dump", "mysqldump"), f"--defaults-extra-file={client_options(config)}",
            "--single-transaction", "--skip-lock-tables", "--no-tablespaces", "--hex-blob",
            "--skip-extended-insert", "--tz-utc", config.mysql.database]
    counts = dict.fromkeys(TABLES, 0)
    with subprocess.Popen(dump, stdout=subprocess.PIPE) as process, gzip.open(target, "wb") as out:
        for line in process.stdout:
            out.write(line)
            if line.startswith(b"INSERT INTO `"):
                table = line[13:line.index(b"`", 13)].decode()
                counts[table] = counts.get(table, 0) + 1
    if process.returncode != 0:
        target.unlink(missing_ok=True)
        raise RuntimeError(f"dump failed with exit {process.returncode}")
    target.with_name(target.name + ".sha256").write_text(f"{sha256(target)}  {target.name}\n")
    manifest = {"database": config.mysql.database, "created": stamp, "row_counts": counts}
    target.with_name(target.name + ".json").write_text(json.dumps(manifest, indent=2) + "\n")
    rotate(folder, config.mysql.database, keep)
    return target


def rotate(folder: Path, database: str, keep: int) -> list[Path]:
    """Remove all but the newest `keep` backups (with their checksum and manifest)."""
    dumps = sorted(folder.glob(f"{database}-*.sql.gz"))
    removed = dumps[:-keep] if keep > 0 else []
    for path in removed:
        for extra in (path, path.with_name(path.name + ".sha256"), path.with_name(path.name + ".json")):
            extra.unlink(missing_ok=True)
    return removed


def restore(config: Config, path: Path, database: str) -> dict[str, int]:
    """Load a backup into `database` and return its verified row counts."""
    if not _NAME.match(database):
        raise ValueError(f"database name must match {_NAME.pattern}")
    expected_sum = path.with_name(path.name + ".sha256").read_text().split()[0]
    if sha256(path) != expected_sum:
        raise RuntimeError(f"{path.name}: checksum mismatch, the file is damaged")
    manifest = json.loads(path.with_name(path.name + ".json").read_text())
    connection = db.connect(config, admin=config.mysql.private_instance, database=False)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4")
    finally:
        connection.close()
    client = [find("mariadb", "mysql"), f"--defaults-extra-file={client_options(config)}", "--binary-mode", database]
    with gzip.open(path, "rb") as dump, subprocess.Popen(client, stdin=subprocess.PIPE) as loader:
        for block in iter(lambda: dump.read(1 << 20), b""):
            loader.stdin.write(block)
        loader.stdin.close()
    if loader.returncode != 0:
        raise RuntimeError(f"loading the dump failed with exit {loader.returncode}")
    counts = row_counts(config, database)
    if counts != manifest["row_counts"]:
        raise RuntimeError(f"row counts differ after restore: {counts} != {manifest['row_counts']}")
    return counts


def backup_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="backup", description="Runbook 4.3: compressed, checksummed dump.")
    parser.add_argument("--keep", type=int, default=7, help="backups to keep (default 7)")
    args = parser.parse_args(argv)
    try:
        path = backup(config_module.load(), args.keep)
    except (RuntimeError, OSError, mysql.connector.Error) as exc:
        print(f"error: backup failed: {exc}", file=sys.stderr)
        return 2
    manifest = json.loads(path.with_name(path.name + ".json").read_text())
    print(f"{path}\n  sha256 {path.with_name(path.name + '.sha256').read_text().split()[0]}\n"
          f"  rows {manifest['row_counts']}")
    return 0


def restore_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="restore", description="Restore a bin/backup file and verify it.")
    parser.add_argument("file", type=Path)
    parser.add_argument("--database", default="crypto_streaming_restore",
                        help="database to restore into (default crypto_streaming_restore)")
    args = parser.parse_args(argv)
    try:
        counts = restore(config_module.load(), args.file, args.database)
    except (RuntimeError, ValueError, OSError, subprocess.CalledProcessError, mysql.connector.Error) as exc:
        print(f"error: restore failed: {exc}", file=sys.stderr)
        return 2
    print(f"restored {args.file.name} into {args.database}; row counts verified: {counts}")
    return 0
