"""MySQL connections and the SQL files under sql/ (the one place SQL lives)."""
from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, TypeVar

import mysql.connector
from mysql.connector.connection import MySQLConnection

from cryptostream.core import shipped_files
from cryptostream.core.config import Config, Secret

SQL_DIR = Path(os.environ.get("CRYPTOSTREAM_SQL_DIR", shipped_files.SQL_DIR))
ADMIN_USER = "root"
_NAME = re.compile(r"^-- name: ([\w./]+)\s*$", re.MULTILINE)
T = TypeVar("T")


@lru_cache(maxsize=None)
def named_statements(file: str) -> dict[str, str]:
    """`-- name: x` blocks of sql/<file>.sql, comments dropped, trailing ';' removed."""
    parts = _NAME.split((SQL_DIR / f"{file}.sql").read_text())
    return {name: _strip(body) for name, body in zip(parts[1::2], parts[2::2])}


def script(file: str) -> list[str]:
    """The statements of sql/<file>.sql, in order."""
    return [s for s in (_strip(part) for part in (SQL_DIR / f"{file}.sql").read_text().split(";\n")) if s]


def _strip(sql: str) -> str:
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return "\n".join(lines).strip().rstrip(";").strip()


def describe(exc: BaseException) -> str:
    """Error class and MySQL errno only: messages can echo statements or credentials."""
    return f"{type(exc).__name__}({getattr(exc, 'errno', None)})"


def admin_password(config: Config) -> Secret:
    path = config.secrets_dir / "mysql-admin-password"
    return Secret(path.read_text().strip()) if path.exists() else Secret("")


def reader_password(config: Config) -> Secret:
    """The dashboard's SELECT-only account's password: dashboard.password_file (the container's
    secret), else the one bin/up generates (ops/stack/secrets.py); empty before the first bin/up."""
    if config.dashboard.password_file:
        return Secret(Path(config.dashboard.password_file).read_text().strip())
    path = config.secrets_dir / "mysql-reader-password"
    return Secret(path.read_text().strip()) if path.exists() else Secret("")


def connect_reader(config: Config, timeout: float = 5.0) -> MySQLConnection:
    """A read-only connection in UTC as the dashboard's account (dashboard.user)."""
    return mysql.connector.connect(
        host=config.mysql.host, port=config.mysql.port, user=config.dashboard.user,
        password=reader_password(config).reveal(), database=config.mysql.database,
        connection_timeout=int(timeout), autocommit=True, use_pure=True, time_zone="+00:00", charset="utf8mb4")


def admin_socket(config: Config) -> Path:
    """The private instance's socket: root@localhost logs in through it (not over TCP)."""
    return config.var_dir / "run" / "mysqld.sock"


def connect(config: Config, admin: bool = False, database: bool = True,
            timeout: float = 10.0) -> MySQLConnection:
    """A connection in UTC, autocommit off; as the application user, or as the private
    instance's root (through its socket) when `admin`."""
    mysql_cfg = config.mysql
    where = {"unix_socket": str(admin_socket(config))} if admin else {"host": mysql_cfg.host, "port": mysql_cfg.port}
    return mysql.connector.connect(
        **where, user=ADMIN_USER if admin else mysql_cfg.user,
        password=(admin_password(config) if admin else mysql_cfg.password).reveal(),
        database=mysql_cfg.database if database else None,
        connection_timeout=int(timeout), autocommit=False, use_pure=True,
        time_zone="+00:00", charset="utf8mb4")


def run_committed(connection: MySQLConnection, work: Callable[[Any], T]) -> T:
    """work(cursor) on `connection`, committed; the connection is closed whatever happens."""
    try:
        with connection.cursor() as cursor:
            result = work(cursor)
        connection.commit()
        return result
    finally:
        connection.close()


def client_options_file(config: Config, admin: bool = False) -> Path:
    """[client] options for the mysql/mariadb command-line tools, in a 0600 file under
    var/secrets, so that no password is ever on a command line."""
    user, password = (ADMIN_USER, admin_password(config)) if admin else (config.mysql.user, config.mysql.password)
    where = f"socket={admin_socket(config)}\nprotocol=SOCKET" if admin else \
        f"host={config.mysql.host}\nport={config.mysql.port}\nprotocol=TCP"
    path = config.secrets_dir / f"{'admin' if admin else 'app'}-client.cnf"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"[client]\n{where}\nuser={user}\npassword={option_value(password.reveal())}\n")
    return path


def option_value(value: str) -> str:
    """A value for a MySQL option file: quoted, so '#', quotes, backslashes and spaces survive."""
    if "\n" in value or "\r" in value:
        raise ValueError("a MySQL option file value cannot hold a line break")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

