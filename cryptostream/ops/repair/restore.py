"""bin/restore: runbook section 4.3. Checks the dump (backup_file.read_backup) before touching
MySQL, loads it into a staging database, verifies every table's row count against the manifest,
and only then moves the tables into the target in one RENAME TABLE (atomic in MariaDB and
MySQL 8), so a failed restore leaves the target as it was. Over the live database
(mysql.database) it needs --yes and stops the processor around the swap. Every statement runs
through the deployment's MySQL client as the administrator (natively through the private
instance's socket, in containers as root inside the mysql container)."""
from __future__ import annotations

import argparse
import gzip
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from cryptostream.core import config as config_module
from cryptostream.core.config import Config
from cryptostream.core.polling import wait_for
from cryptostream.ops import cli, deployment as deployments, programs
from cryptostream.ops.cli import CommandError
from cryptostream.ops.deployment import Deployment
from cryptostream.ops.repair.backup_file import NAME, Backup, read_backup
from cryptostream.ops.stack.provisioning import TABLES

# Distinctive suffixes: a database with one of them is a leftover of a restore, ours to drop.
STAGING_SUFFIX = "_cs_restore_tmp"
OLD_SUFFIX = "_cs_restore_old"


def restore(deployment: Deployment, path: Path, database: str, confirm_live: bool = False,
            timeout: float = 180, say=print) -> dict[str, int]:
    """Load a backup into `database` through a staging database; return the verified row counts.
    The target is only changed by the final atomic swap."""
    found = checked_request(deployment.config, path, database, confirm_live)
    return restore_checked(deployment, found, database, timeout, say)


def checked_request(config: Config, path: Path, database: str, confirm_live: bool) -> Backup:
    """Everything about a restore that can be checked before any stack is touched: the target's
    name, --yes over the live database, the backup file itself."""
    if not NAME.match(database) or database.endswith((STAGING_SUFFIX, OLD_SUFFIX)):
        raise CommandError(f"--database must match {NAME.pattern} and not end in {STAGING_SUFFIX} or "
                           f"{OLD_SUFFIX}, got {database!r}")
    live = database == config.mysql.database
    if live and not confirm_live:
        raise CommandError(f"{database} is the live database (mysql.database): restoring replaces its tables "
                           f"with the backup's; run again with --yes (the processor is stopped around the swap)")
    return read_backup(path)


def restore_checked(deployment: Deployment, found: Backup, database: str, timeout: float = 180,
                    say=print) -> dict[str, int]:
    """restore() once checked_request() has passed."""
    live = database == deployment.config.mysql.database
    deployment.require_mysql()
    staging = _derived_name(database, STAGING_SUFFIX)
    try:
        say(f"loading {found.path.name} into the staging database {staging}")
        load_into(deployment, found.path, staging)
        counts = verified_counts(deployment, staging, found.row_counts)
        with processor_stopped(deployment, live, timeout, say):
            emptied = swap(deployment, staging, database)
        if emptied:
            say(f"emptied {', '.join(emptied)}: the backup has no such table (made by an older version); "
                f"bin/up brings its tables up to date")
    finally:
        _drop_database(deployment, staging)
    return counts


def row_counts(deployment: Deployment, database: str, tables: tuple[str, ...] = TABLES) -> dict[str, int]:
    """Rows per table of `database`, as the administrator (it may be a restored copy)."""
    # identifiers: both matched NAME (constants, a checked manifest, a checked name)
    counted = deployment.admin_sql(*(f"SELECT COUNT(*) FROM `{database}`.`{table}`" for table in tables))  # nosec B608
    return {table: int(row[0]) for table, row in zip(tables, counted)}


def _derived_name(database: str, suffix: str) -> str:
    return database[:64 - len(suffix)] + suffix


def _drop_database(deployment: Deployment, name: str) -> None:
    deployment.admin_sql(f"DROP DATABASE IF EXISTS `{name}`")


def load_into(deployment: Deployment, path: Path, staging: str) -> None:
    """A fresh staging database with the dump loaded; raises (and leaves it for the caller to
    drop) when the client reports an error part-way."""
    deployment.admin_sql(f"DROP DATABASE IF EXISTS `{staging}`", f"CREATE DATABASE `{staging}` CHARACTER SET utf8mb4")
    client = [*deployment.mysql_tool("client", admin=deployment.can_admin), "--binary-mode", staging]
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
        raise CommandError(f"loading {path.name} failed (the MySQL client exited {loader.returncode}: "
                           f"{message or 'no message'}); the target database was not touched")


def verified_counts(deployment: Deployment, staging: str, expected: dict[str, int]) -> dict[str, int]:
    present = {row[0] for row in deployment.admin_sql(f"SHOW TABLES FROM `{staging}`")}
    missing = sorted(set(expected) - present)
    if missing:
        raise CommandError(f"the dump has no table {missing[0]} that its manifest counts; the target database "
                           f"was not touched")
    counts = row_counts(deployment, staging, tuple(expected))
    if counts != expected:
        raise CommandError(f"row counts differ from the manifest after loading: {counts} != {expected}; "
                           f"the target database was not touched")
    return counts


def swap(deployment: Deployment, staging: str, database: str) -> list[str]:
    """Move the staging tables into `database` in one RENAME TABLE: every table at once or none.
    The target's current tables of the same names go to a side database, dropped afterwards.
    A pipeline table the dump lacks (a backup made before the table existed) is swapped for an
    empty one: its rows belong to batches the restore takes back (counted_ranges would mark the
    replayed prices as copies of themselves). Returns those tables."""
    old = _derived_name(database, OLD_SUFFIX)
    deployment.admin_sql(f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4",
                         f"DROP DATABASE IF EXISTS `{old}`", f"CREATE DATABASE `{old}`")
    existing = {row[0] for row in deployment.admin_sql(f"SHOW TABLES FROM `{database}`")}
    loaded = {row[0] for row in deployment.admin_sql(f"SHOW TABLES FROM `{staging}`")}
    emptied = [t for t in TABLES if t in existing and t not in loaded]
    if emptied:
        deployment.admin_sql(*(f"CREATE TABLE `{staging}`.`{t}` LIKE `{database}`.`{t}`" for t in emptied))
    tables = sorted(loaded | set(emptied))
    moves = [f"`{database}`.`{t}` TO `{old}`.`{t}`" for t in tables if t in existing]
    moves += [f"`{staging}`.`{t}` TO `{database}`.`{t}`" for t in tables]
    deployment.admin_sql("RENAME TABLE " + ", ".join(moves))
    _drop_database(deployment, old)
    return emptied


@contextmanager
def processor_stopped(deployment: Deployment, live: bool, timeout: float, say=print) -> Iterator[None]:
    """Over the live database: stop the processor (through supervisord) for the swap, so no
    micro-batch writes half into the old tables, and start it again afterwards, even on error."""
    running = live and deployment.is_up() and \
        deployment.program_states().get(programs.PROCESSOR, {}).get("statename") == "RUNNING"
    if not running:
        yield
        return
    say("stopping the processor for the swap")
    deployment.control("stop", programs.PROCESSOR)
    try:
        yield
    finally:
        say("starting the processor")
        deployment.control("start", programs.PROCESSOR)
    from cryptostream.ops.repair.restart import healthy_check  # lazy: restart imports the stack module
    try:
        wait_for("the processor to apply a micro-batch", healthy_check(deployment.config, programs.PROCESSOR,
                                                                       time.time()), timeout, interval=1)
    except (TimeoutError, RuntimeError) as exc:
        raise CommandError(f"the backup was restored, but the restarted processor is not healthy ({exc}); "
                           f"see {deployment.logs_hint(programs.PROCESSOR)}") from None


@cli.command()
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="restore", description="Restore a bin/backup file and verify it.")
    parser.add_argument("file", type=Path)
    parser.add_argument("--database", default="crypto_streaming_restore",
                        help="database to restore into (default crypto_streaming_restore)")
    parser.add_argument("--yes", action="store_true",
                        help="confirm restoring over the live database (mysql.database): its tables are "
                             "replaced; the processor is stopped and started around the swap")
    parser.add_argument("--timeout", type=float, default=180,
                        help="seconds to wait for the restarted processor's first micro-batch (default 180)")
    args = deployments.add_flags(parser).parse_args(argv)
    config = config_module.load()
    found = checked_request(config, args.file, args.database, args.yes)
    counts = restore_checked(deployments.choose(config, args.deployment), found, args.database, args.timeout)
    print(f"restored {args.file.name} into {args.database}; row counts verified: {counts}")
    return 0
