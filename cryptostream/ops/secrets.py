"""Local dev credentials: generated once into var/secrets (0700), files 0600, never committed."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptostream.config import Config

FILES = ("mysql-password", "mysql-admin-password")


def ensure(config: Config) -> list[Path]:
    """Create any missing password file; returns the ones created."""
    config.secrets_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(config.secrets_dir, 0o700)
    created = []
    for name in FILES:
        path = config.secrets_dir / name
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(24) + "\n")
            created.append(path)
    return created
