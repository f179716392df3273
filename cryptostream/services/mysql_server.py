"""The private MariaDB instance: data under var/mysql, TCP on 127.0.0.1 and a socket in var/run.

Initialises the data directory on first start, then becomes mariadbd (exec) so supervisord
signals it directly. MySQL-compatible; an external MySQL 8 / MariaDB can be used instead
(mysql.private_instance = false).
"""
from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import sys
from pathlib import Path

from cryptostream import config as config_module
from cryptostream import db
from cryptostream.config import Config

SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/usr/libexec"])


def find(*names: str) -> str:
    for name in names:
        found = shutil.which(name, path=SEARCH_PATH)
        if found:
            return found
    raise FileNotFoundError(f"none of {names} found: install mariadb-server (bin/up does on Debian/Ubuntu as root)")


def user_args() -> list[str]:
    # mariadbd refuses to run as root unless told which user to be
    return [f"--user={getpass.getuser()}"]


def initialise(config: Config, datadir: Path) -> None:
    """Create the system tables; root gets a password at the first bin/up (ops/database.py)."""
    datadir.mkdir(parents=True)
    subprocess.run([find("mariadb-install-db", "mysql_install_db"), "--no-defaults",
                    f"--datadir={datadir}", "--auth-root-authentication-method=normal",
                    "--skip-test-db", *user_args()], check=True, stdout=subprocess.DEVNULL)


def main() -> int:
    config = config_module.load()
    datadir = config.var_dir / "mysql" / "data"
    if not (datadir / "mysql").exists():
        if datadir.exists():
            shutil.rmtree(datadir)  # a half-made data dir from an interrupted first start
        initialise(config, datadir)
    db.admin_socket(config).parent.mkdir(parents=True, exist_ok=True)
    command = [find("mariadbd", "mysqld"), "--no-defaults", f"--datadir={datadir}",
               f"--socket={db.admin_socket(config)}", f"--port={config.mysql.port}",
               "--bind-address=127.0.0.1", "--skip-name-resolve",
               f"--pid-file={config.var_dir / 'run' / 'mysqld.pid'}",
               "--character-set-server=utf8mb4", "--default-time-zone=+00:00",
               "--innodb-buffer-pool-size=128M", "--max-allowed-packet=64M",
               *user_args()]
    sys.stdout.flush()
    os.execv(command[0], command)
    return 1
