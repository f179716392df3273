"""The private MariaDB instance: data under var/mysql, TCP on 127.0.0.1 and a socket in var/run.

Initialises the data directory on first start and closes its password-less accounts before the
server first listens on TCP, then becomes mariadbd (exec) so supervisord signals it directly.
MySQL-compatible; an external MySQL 8 / MariaDB can be used instead
(mysql.private_instance = false).
"""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import mysql.connector

from cryptostream.core import config as config_module
from cryptostream.core import db
from cryptostream.core.config import Config
from cryptostream.core.polling import wait_for

SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/usr/libexec"])
# Present once the accounts were made safe (sql/harden.sql); older data dirs get it at next start.
HARDENED_MARK = "cryptostream-hardened"


def find(*names: str) -> str:
    for name in names:
        found = shutil.which(name, path=SEARCH_PATH)
        if found:
            return found
    raise FileNotFoundError(f"none of {names} found: install mariadb-server (bin/up does on Debian/Ubuntu as root)")


def user_args() -> list[str]:
    # mariadbd refuses to run as root unless told which user to be; the effective user, not
    # $USER, which a privilege-dropping supervisord leaves as it was
    return [f"--user={pwd.getpwuid(os.geteuid()).pw_name}"]


def private_dirs(config: Config) -> tuple[Path, Path]:
    """The socket's folder and the only folder LOAD DATA / INTO OUTFILE may touch, both 0700."""
    run_dir, files_dir = db.admin_socket(config).parent, config.var_dir / "mysql" / "files"
    for folder in (run_dir, files_dir):
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    return run_dir, files_dir


def server_command(config: Config, datadir: Path, *extra: str) -> list[str]:
    _, files_dir = private_dirs(config)
    return [find("mariadbd", "mysqld"), "--no-defaults", f"--datadir={datadir}",
            f"--secure-file-priv={files_dir}", "--skip-name-resolve",
            "--character-set-server=utf8mb4", "--default-time-zone=+00:00",
            "--innodb-buffer-pool-size=128M", "--max-allowed-packet=64M", *user_args(), *extra]


def initialise(datadir: Path) -> None:
    """Create the system tables (their root accounts have no password until harden()). Host
    names are not resolved, as by the server: a machine without /etc/hosts entries works."""
    datadir.mkdir(parents=True)
    made = subprocess.run([find("mariadb-install-db", "mysql_install_db"), "--no-defaults",
                           f"--datadir={datadir}", "--auth-root-authentication-method=normal",
                           "--skip-test-db", "--skip-name-resolve", *user_args()],
                          capture_output=True, text=True)
    if made.returncode != 0:
        print(made.stdout[-3000:], made.stderr[-3000:], sep="\n", file=sys.stderr)
        raise RuntimeError(f"mariadb-install-db failed (exit {made.returncode}) for {datadir}; its output is above")


def harden(config: Config, datadir: Path) -> None:
    """Drop every password-less account and give root@localhost the generated password, on a
    server that only listens on a private socket while it happens."""
    socket = db.admin_socket(config).with_name("mysqld-init.sock")
    server = subprocess.Popen(server_command(config, datadir, "--skip-networking", f"--socket={socket}",
                                             f"--pid-file={socket.with_suffix('.pid')}"))
    try:
        connection = _wait_for_root(config, socket, server)
        statements = db.named_statements("harden")
        with connection.cursor() as cursor:
            cursor.execute(statements["accounts_to_drop"])
            for user, host in cursor.fetchall():
                cursor.execute(statements["drop_account"], (user, host))
            cursor.execute(statements["root_password"], (db.admin_password(config).reveal(),))
            cursor.execute(statements["shutdown"])
        connection.close()
        server.wait(timeout=60)
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=60)
    (datadir / HARDENED_MARK).touch()


def _wait_for_root(config: Config, socket: Path, server: subprocess.Popen):
    """root over the socket: no password on a new data dir, the generated one on an old one."""
    failed = f"MariaDB did not start to close its accounts; see {config.var_dir}/log/mysql.log"

    def connected() -> mysql.connector.MySQLConnection | None:
        for password in ("", db.admin_password(config).reveal()):
            try:
                return mysql.connector.connect(unix_socket=str(socket), user=db.ADMIN_USER, password=password,
                                               autocommit=True, use_pure=True)
            except mysql.connector.Error:
                pass
        if server.poll() is not None:
            raise RuntimeError(failed)
        return None
    try:
        return wait_for("MariaDB", connected, 60, retry=())
    except TimeoutError:
        raise RuntimeError(failed) from None


def main() -> int:
    config = config_module.load()
    if not db.admin_password(config).reveal():
        print(f"error: no admin password in {config.secrets_dir}; start the stack with bin/up", file=sys.stderr)
        return 2
    datadir = config.var_dir / "mysql" / "data"
    if not (datadir / "mysql").exists():
        if datadir.exists():
            shutil.rmtree(datadir)  # a half-made data dir from an interrupted first start
        initialise(datadir)
    if not (datadir / HARDENED_MARK).exists():
        harden(config, datadir)
    command = server_command(config, datadir, f"--socket={db.admin_socket(config)}",
                             f"--port={config.mysql.port}", "--bind-address=127.0.0.1",
                             f"--pid-file={config.var_dir / 'run' / 'mysqld.pid'}")
    sys.stdout.flush()
    os.execv(command[0], command)
    return 1
