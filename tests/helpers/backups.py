"""Backup files as bin/backup writes them: .sql.gz, .sha256 (sha256sum format), .json manifest."""
from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

DUMP = b"".join(b"INSERT INTO `moving_averages` VALUES (%d);\n" % i for i in range(2000))


def make_backup(folder: Path, dump: bytes = DUMP, counts: dict | None = None) -> Path:
    """A backup as bin/backup writes it: .sql.gz, .sha256 (sha256sum format) and .json manifest."""
    path = folder / "crypto_streaming-20260101T000000Z.sql.gz"
    path.write_bytes(gzip.compress(dump))
    rewrite_checksum(path)
    manifest = {"database": "crypto_streaming", "created": "20260101T000000Z",
                "row_counts": counts if counts is not None else {"moving_averages": 2000}}
    path.with_name(path.name + ".json").write_text(json.dumps(manifest))
    return path


def rewrite_checksum(path: Path) -> None:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    path.with_name(path.name + ".sha256").write_text(f"{digest}  {path.name}\n")
