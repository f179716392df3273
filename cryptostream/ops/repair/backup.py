"""bin/backup and bin/restore: runbook section 4.3.

backup   mariadb-dump/mysqldump of the database (one consistent transaction), gzip, a
         timestamped name under var/backups, a .sha256 beside it and a manifest of row counts;
         the oldest beyond --keep are removed.
restore  checks the dump (checksum, complete gzip stream, manifest) before touching MySQL, loads
         it into a staging database, verifies every table's row count against the manifest, and
         only then moves the tables into the target in one RENAME TABLE (atomic in MariaDB and
         MySQL 8), so a failed restore leaves the target as it was. Over the live database
         (mysql.database) it needs --yes and stops the processor around the swap.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import subprocess
import tempfile
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from cryptostream.core import config as config_module
from cryptostream.core import db
from cryptostream.core.config import Config
from cryptostream.ops import cli, supervisor
from cryptostream.ops.health.probes.supervisord import program_states
from cryptostream.ops.cli import CommandError
from cryptostream.ops.stack.database import TABLES
from cryptostream.services.mysql_server import find

_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Distinctive suffixes: a database with one of them is a leftover of a restore, ours to drop.
STAGING_SUFFIX = "_cs_restore_tmp"
OLD_SUFFIX = "_cs_restore_old"


def backup_dir(config: Config) -> Path:
    return config.var_dir / "backups"


def client_options(config: Config) -> Path:
    """Dump and restore run as the private instance's administrator, else as the app user
    (enough to dump; restoring into another database then needs CREATE on it)."""
    return db.client_options_file(config, admin=config.mysql.private_instance)


def admin_connection(config: Config):
    """Backups are taken and restored as the private instance's administrator, else as the app user."""
    return db.connect(config, admin=config.mysql.private_instance, database=False)


def row_counts(config: Config, database: str, tables: tuple[str, ...] = TABLES) -> dict[str, int]:
    """Rows per table of `database`, as the administrator (it may be a restored copy)."""
    connection = admin_connection(config)
    try:
        with connection.cursor() as cursor:
            counts = {}
            for table in tables:
                # identifiers: both matched _NAME (constants, a checked manifest, a checked name)
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
    cli.require_mysql(config, admin=config.mysql.private_instance)  # one clear line if it is down
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
        raise CommandError(f"{Path(dump[0]).name} failed with exit {process.returncode} (its error is above); "
                           f"no backup written")
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


@dataclass(frozen=True)
class Backup:
    """A dump whose checksum, gzip stream and manifest have been checked."""
    path: Path
    row_counts: dict[str, int]


def read_backup(path: Path) -> Backup:
    """Check everything about a backup that can be checked without MySQL; each problem is one
    CommandError naming the file, so nothing is touched when the backup is not usable."""
    if not path.is_file():
        raise CommandError(f"backup file {path} not found (bin/backup writes them to "
                           f"var/backups/<database>-<time>.sql.gz)")
    expected = expected_checksum(path)
    if sha256(path) != expected:
        raise CommandError(f"{path}: checksum differs from {path.name}.sha256, the file is damaged; "
                           f"use another backup")
    counts = manifest_row_counts(path)
    check_gzip_complete(path)
    return Backup(path, counts)


def _beside(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def expected_checksum(path: Path) -> str:
    """The SHA-256 in FILE.sha256 (`<64 hex digits>  <name>`, as sha256sum writes)."""
    sums = _beside(path, ".sha256")
    if not sums.is_file():
        raise CommandError(f"checksum file {sums} not found: bin/backup writes it beside the dump; "
                           f"without it the dump cannot be verified")
    words = sums.read_text(errors="replace").split()
    if not words:
        raise CommandError(f"checksum file {sums} is empty; copy it again with the dump")
    if not _SHA256.match(words[0].lower()):
        raise CommandError(f"checksum file {sums} does not start with a SHA-256 (64 hex digits); "
                           f"copy it again with the dump")
    return words[0].lower()


def manifest_row_counts(path: Path) -> dict[str, int]:
    """Row counts per table from FILE.json, checked: table names are used as SQL identifiers."""
    manifest = _beside(path, ".json")
    if not manifest.is_file():
        raise CommandError(f"manifest {manifest} not found: bin/backup writes it beside the dump; "
                           f"without its row counts the restore cannot be verified")
    try:
        data = json.loads(manifest.read_text(errors="replace"))
    except json.JSONDecodeError as exc:
        raise CommandError(f"manifest {manifest} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    counts = data.get("row_counts") if isinstance(data, dict) else None
    if not isinstance(counts, dict) or not counts:
        raise CommandError(f"manifest {manifest} has no row_counts (an object of table: rows)")
    for table, rows in counts.items():
        if not _NAME.match(str(table)) or not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
            raise CommandError(f"manifest {manifest}: bad row count entry {table!r}: {rows!r}")
    return counts


def check_gzip_complete(path: Path) -> None:
    """Read the whole gzip stream: a truncated dump (a full disk while backing up, a cut copy)
    fails here, before anything is loaded."""
    try:
        with gzip.open(path, "rb") as dump:
            while dump.read(1 << 20):
                pass
    except EOFError:
        raise CommandError(f"{path} is truncated (the gzip stream ends early): the backup is incomplete; "
                           f"use another backup") from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise CommandError(f"{path} is not a readable gzip file ({exc}); use another backup") from None


def restore(config: Config, path: Path, database: str, confirm_live: bool = False,
            timeout: float = 180, say=print) -> dict[str, int]:
    """Load a backup into `database` through a staging database; return the verified row counts.
    The target is only changed by the final atomic swap."""
    if not _NAME.match(database) or database.endswith((STAGING_SUFFIX, OLD_SUFFIX)):
        raise CommandError(f"--database must match {_NAME.pattern} and not end in {STAGING_SUFFIX} or "
                           f"{OLD_SUFFIX}, got {database!r}")
    live = database == config.mysql.database
    if live and not confirm_live:
        raise CommandError(f"{database} is the live database (mysql.database): restoring replaces its tables "
                           f"with the backup's; run again with --yes (the processor is stopped around the swap)")
    found = read_backup(path)
    cli.require_mysql(config, admin=config.mysql.private_instance)
    staging = _derived_name(database, STAGING_SUFFIX)
    try:
        say(f"loading {path.name} into the staging database {staging}")
        load_into(config, path, staging)
        counts = verified_counts(config, staging, found.row_counts)
        with processor_stopped(config, live, timeout, say):
            swap(config, staging, database)
    finally:
        _drop_database(config, staging)
    return counts


def _derived_name(database: str, suffix: str) -> str:
    return database[:64 - len(suffix)] + suffix


def _execute(config: Config, *statements: str) -> list[tuple]:
    """Run statements as the administrator (autocommit: DDL); the last one's rows."""
    connection = admin_connection(config)
    try:
        with connection.cursor() as cursor:
            rows: list[tuple] = []
            for statement in statements:
                cursor.execute(statement)
                rows = cursor.fetchall() if cursor.with_rows else []
        connection.commit()
        return rows
    finally:
        connection.close()


def _drop_database(config: Config, name: str) -> None:
    _execute(config, f"DROP DATABASE IF EXISTS `{name}`")


def load_into(config: Config, path: Path, staging: str) -> None:
    """A fresh staging database with the dump loaded; raises (and leaves it for the caller to
    drop) when the client reports an error part-way."""
    _execute(config, f"DROP DATABASE IF EXISTS `{staging}`", f"CREATE DATABASE `{staging}` CHARACTER SET utf8mb4")
    client = [find("mariadb", "mysql"), f"--defaults-extra-file={client_options(config)}", "--binary-mode", staging]
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: the client cannot block on it
        with gzip.open(path, "rb") as dump, subprocess.Popen(client, stdin=subprocess.PIPE, stderr=errors) as loader:
            try:
                for block in iter(lambda: dump.read(1 << 20), b""):
                    loader.stdin.write(block)
            except BrokenPipeError:
                pass  # the client stopped at an error; its exit code and message say which
            finally:
                try:
                    loader.stdin.close()
                except BrokenPipeError:
                    pass
        errors.seek(0)
        message = cli.one_line(errors.read().decode(errors="replace"))
    if loader.returncode != 0:
        raise CommandError(f"loading {path.name} failed ({Path(client[0]).name} exit {loader.returncode}: "
                           f"{message or 'no message'}); the target database was not touched")


def verified_counts(config: Config, staging: str, expected: dict[str, int]) -> dict[str, int]:
    present = {row[0] for row in _execute(config, f"SHOW TABLES FROM `{staging}`")}
    missing = sorted(set(expected) - present)
    if missing:
        raise CommandError(f"the dump has no table {missing[0]} that its manifest counts; the target database "
                           f"was not touched")
    counts = row_counts(config, staging, tuple(expected))
    if counts != expected:
        raise CommandError(f"row counts differ from the manifest after loading: {counts} != {expected}; "
                           f"the target database was not touched")
    return counts


def swap(config: Config, staging: str, database: str) -> None:
    """Move the staging tables into `database` in one RENAME TABLE: every table at once or none.
    The target's current tables of the same names go to a side database, dropped afterwards."""
    old = _derived_name(database, OLD_SUFFIX)
    tables = sorted(row[0] for row in _execute(config, f"SHOW TABLES FROM `{staging}`"))
    _execute(config, f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4",
             f"DROP DATABASE IF EXISTS `{old}`", f"CREATE DATABASE `{old}`")
    existing = {row[0] for row in _execute(config, f"SHOW TABLES FROM `{database}`")}
    moves = [f"`{database}`.`{t}` TO `{old}`.`{t}`" for t in tables if t in existing]
    moves += [f"`{staging}`.`{t}` TO `{database}`.`{t}`" for t in tables]
    _execute(config, "RENAME TABLE " + ", ".join(moves))
    _drop_database(config, old)


@contextmanager
def processor_stopped(config: Config, live: bool, timeout: float, say=print) -> Iterator[None]:
    """Over the live database: stop the processor (through supervisord) for the swap, so no
    micro-batch writes half into the old tables, and start it again afterwards, even on error."""
    running = live and supervisor.is_running(config) and \
        program_states(config).get("processor", {}).get("statename") == "RUNNING"
    if not running:
        yield
        return
    say("stopping the processor for the swap")
    supervisor.ctl(config, "stop", "processor")
    try:
        yield
    finally:
        say("starting the processor")
        supervisor.ctl(config, "start", "processor")
    from cryptostream.ops.repair.restart import healthy_check  # lazy: restart imports the stack module
    from cryptostream.core.polling import wait_for
    try:
        wait_for("the processor to apply a micro-batch", healthy_check(config, "processor", time.time()),
                 timeout, interval=1)
    except (TimeoutError, RuntimeError) as exc:
        raise CommandError(f"the backup was restored, but the restarted processor is not healthy ({exc}); "
                           f"see bin/logs processor") from None


@cli.command()
def backup_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="backup", description="Runbook 4.3: compressed, checksummed dump.")
    parser.add_argument("--keep", type=int, default=7, help="backups to keep (default 7)")
    args = parser.parse_args(argv)
    path = backup(config_module.load(), args.keep)
    manifest = json.loads(_beside(path, ".json").read_text())
    print(f"{path}\n  sha256 {_beside(path, '.sha256').read_text().split()[0]}\n"
          f"  rows {manifest['row_counts']}")
    return 0


@cli.command()
def restore_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="restore", description="Restore a bin/backup file and verify it.")
    parser.add_argument("file", type=Path)
    parser.add_argument("--database", default="crypto_streaming_restore",
                        help="database to restore into (default crypto_streaming_restore)")
    parser.add_argument("--yes", action="store_true",
                        help="confirm restoring over the live database (mysql.database): its tables are "
                             "replaced; the processor is stopped and started around the swap")
    parser.add_argument("--timeout", type=float, default=180,
                        help="seconds to wait for the restarted processor's first micro-batch (default 180)")
    args = parser.parse_args(argv)
    config = config_module.load()
    counts = restore(config, args.file, args.database, args.yes, args.timeout)
    print(f"restored {args.file.name} into {args.database}; row counts verified: {counts}")
    return 0
