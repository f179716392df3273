"""Local dev credentials: generated once into var/secrets (0700), files 0600, never committed."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptostream.core.config import Config

FILES = ("mysql-password", "mysql-admin-password", "mysql-reader-password")  # app, root, dashboard


def keep_from_environment(config: Config) -> bool:
    """A password given as CRYPTOSTREAM_MYSQL_PASSWORD goes into the app's password file, which
    is how supervisord's programs get it: the variable itself is not passed on to them."""
    given = os.environ.get("CRYPTOSTREAM_MYSQL_PASSWORD")
    path = config.secrets_dir / FILES[0]
    if not given or (path.exists() and path.read_text().strip() == given):
        return False
    _private_folder(config)
    _write_private(path, given, exclusive=False)
    return True


def _private_folder(config: Config) -> None:
    config.secrets_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(config.secrets_dir, 0o700)


def _write_private(path: Path, value: str, exclusive: bool = True) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    with os.fdopen(os.open(path, flags, 0o600), "w") as handle:
        handle.write(value + "\n")


def ensure(config: Config) -> list[Path]:
    """Create any missing password file; returns the ones created."""
    _private_folder(config)
    created = []
    for name in FILES:
        path = config.secrets_dir / name
        if not path.exists():
            _write_private(path, secrets.token_urlsafe(24))
            created.append(path)
    return created
