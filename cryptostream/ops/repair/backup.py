"""bin/backup: runbook section 4.3, a mariadb-dump/mysqldump of the database (one consistent
transaction), gzipped under var/backups with its checksum and row-count manifest; the oldest
beyond --keep are removed. The file format and its checks: backup_file.py; bin/restore: restore.py."""
from __future__ import annotations

import argparse
import gzip
import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from cryptostream.core import config as config_module
from cryptostream.ops import cli, deployment as deployments
from cryptostream.ops.cli import CommandError
from cryptostream.ops.deployment import Deployment
from cryptostream.ops.repair.backup_file import backup_dir, beside, rotate, write_checks
from cryptostream.ops.stack.provisioning import TABLES


def backup(deployment: Deployment, keep: int) -> Path:
    """Dump as the stack's MySQL administrator (the private instance's, or root in the mysql
    container), else as the app user: enough to dump. The file lands in this machine's var/backups."""
    deployment.require_mysql()  # one clear line if it is down
    config = deployment.config
    folder = backup_dir(config)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = folder / f"{config.mysql.database}-{stamp}.sql.gz"
    counts = dump(deployment, target)
    write_checks(target, config.mysql.database, stamp, counts)
    rotate(folder, config.mysql.database, keep)
    return target


def dump(deployment: Deployment, target: Path) -> dict[str, int]:
    """Dump the database gzipped into `target`; the rows written per table. One INSERT per row,
    so the manifest counts exactly what this snapshot holds."""
    command = [*deployment.mysql_tool("dump", admin=deployment.can_admin),
               "--single-transaction", "--skip-lock-tables", "--no-tablespaces", "--hex-blob",
               "--skip-extended-insert", "--tz-utc", deployment.config.mysql.database]
    counts = dict.fromkeys(TABLES, 0)
    with subprocess.Popen(command, stdout=subprocess.PIPE) as process, gzip.open(target, "wb") as out:
        for line in process.stdout:
            out.write(line)
            if line.startswith(b"INSERT INTO `"):
                table = line[13:line.index(b"`", 13)].decode()
                counts[table] = counts.get(table, 0) + 1
    if process.returncode != 0:
        target.unlink(missing_ok=True)
        raise CommandError(f"the {deployment.name} stack's dump tool failed with exit {process.returncode} "
                           f"(its error is above); no backup written")
    return counts


@cli.command()
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="backup", description="Runbook 4.3: compressed, checksummed dump.")
    parser.add_argument("--keep", type=int, default=7, help="backups to keep (default 7)")
    args = deployments.add_flags(parser).parse_args(argv)
    path = backup(deployments.choose(config_module.load(), args.deployment), args.keep)
    manifest = json.loads(beside(path, ".json").read_text())
    print(f"{path}\n  sha256 {beside(path, '.sha256').read_text().split()[0]}\n"
          f"  rows {manifest['row_counts']}")
    return 0
