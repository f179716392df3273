"""The backup file format: <database>-<time>.sql.gz with a .sha256 and a .json manifest of row
counts beside it, how bin/backup writes and rotates them, and every check bin/restore makes of
them before MySQL is touched."""
from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from cryptostream.core.config import Config
from cryptostream.ops.cli import CommandError

NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")  # a database or table name used as an SQL identifier
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Backup:
    """A dump whose checksum, gzip stream and manifest have been checked."""
    path: Path
    row_counts: dict[str, int]


def backup_dir(config: Config) -> Path:
    return config.var_dir / "backups"


def beside(path: Path, suffix: str) -> Path:
    """The checksum (.sha256) or manifest (.json) file of a dump."""
    return path.with_name(path.name + suffix)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_checks(path: Path, database: str, stamp: str, counts: dict[str, int]) -> None:
    """The checksum (sha256sum's format) and the manifest of a dump just written."""
    beside(path, ".sha256").write_text(f"{sha256(path)}  {path.name}\n")
    manifest = {"database": database, "created": stamp, "row_counts": counts}
    beside(path, ".json").write_text(json.dumps(manifest, indent=2) + "\n")


def rotate(folder: Path, database: str, keep: int) -> list[Path]:
    """Remove all but the newest `keep` backups (with their checksum and manifest)."""
    dumps = sorted(folder.glob(f"{database}-*.sql.gz"))
    removed = dumps[:-keep] if keep > 0 else []
    for path in removed:
        for extra in (path, beside(path, ".sha256"), beside(path, ".json")):
            extra.unlink(missing_ok=True)
    return removed


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


def expected_checksum(path: Path) -> str:
    """The SHA-256 in FILE.sha256 (`<64 hex digits>  <name>`, as sha256sum writes)."""
    sums = beside(path, ".sha256")
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
    manifest = beside(path, ".json")
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
        if not NAME.match(str(table)) or not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
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
