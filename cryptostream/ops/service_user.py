"""The unprivileged system user the stack's servers run as when bin/up is started as root.

supervisord drops to it before it opens its socket or starts a program, so MariaDB, Kafka, the
producer, the processor and the simulated exchange never run as root. It owns var/ (data,
logs, checkpoints, secrets); the operator commands, run as root, can still read everything.
"""
from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from cryptostream.core import shipped_files
from cryptostream.core.config import Config

NAME = "cryptostream"


def needed() -> bool:
    return os.geteuid() == 0


def ensure(config: Config) -> str | None:
    """As root: create the user (once), hand it var/ and check it can run the code; the user's
    name, or None when bin/up runs as an ordinary user (who then owns the servers)."""
    if not needed():
        return None
    _create()
    home(config).mkdir(parents=True, exist_ok=True)
    _give(config.var_dir)
    _check_reachable(config)
    return NAME


def environment(config: Config) -> dict[str, str]:
    """What a process running as the user expects (supervisord keeps root's otherwise); its
    home is a folder of var/, since the system user has none."""
    if not needed():
        return {}
    return {"USER": NAME, "LOGNAME": NAME, "HOME": str(home(config))}


def home(config: Config) -> Path:
    return config.var_dir / "home"


def _create() -> None:
    try:
        pwd.getpwnam(NAME)
    except KeyError:
        useradd = shutil.which("useradd", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
        if not useradd:
            raise RuntimeError(f"cannot create the system user {NAME!r}: no useradd (install passwd)") from None
        subprocess.run([useradd, "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", "--comment", "cryptostream servers", NAME], check=True)


def _give(var_dir: Path) -> None:
    record = pwd.getpwnam(NAME)
    var_dir.mkdir(parents=True, exist_ok=True)
    for root, folders, files in os.walk(var_dir):
        for name in [root, *(os.path.join(root, f) for f in folders + files)]:
            os.lchown(name, record.pw_uid, record.pw_gid)


def _check_reachable(config: Config) -> None:
    """Fail before anything starts if the user cannot run the interpreter or read the code."""
    needs = [Path(sys.executable), shipped_files.CONF_DIR, shipped_files.SQL_DIR, config.var_dir, config.jars_dir]
    for path in needs:
        blocked = _first_closed_folder(path)
        if blocked:
            raise RuntimeError(
                f"the service user {NAME!r} cannot reach {path}: {blocked} is closed to other users. "
                f"Keep the project, its .venv and CRYPTOSTREAM_HOME in folders others may enter "
                f"(chmod o+x {blocked}), e.g. under /opt or /srv rather than /root")


def _first_closed_folder(path: Path) -> Path | None:
    """The first folder above `path` (or the interpreter it links to) the user may not enter."""
    uid = pwd.getpwnam(NAME).pw_uid
    for target in {path.absolute(), path.resolve()}:
        for folder in reversed(target.parents):
            if not folder.exists():
                break
            info = folder.stat()
            if info.st_uid != uid and not info.st_mode & stat.S_IXOTH:
                return folder
    return None
