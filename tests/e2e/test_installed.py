"""The package as `pip install .` installs it, without a checkout: a new virtualenv with the
dependencies from conf/requirements.lock and the project's wheel, then cryptostream-stack up
--simulated, cryptostream-status and down, run from a folder that is not the checkout."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from cryptostream.ops.stack import lockfile
from tests.helpers.harness import PROJECT_DIR, query
from tests.helpers.stack import NativeStack, _process_table

pytestmark = pytest.mark.e2e
PIP_QUIET = ("-q", "--disable-pip-version-check", "--progress-bar", "off")


def reachable(folder: Path) -> Path:
    """As root the servers run as the service user, which must be able to enter the folder."""
    folder.chmod(stat.S_IMODE(folder.stat().st_mode) | stat.S_IXOTH)
    return folder


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"{result.args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A new virtualenv (on the system Python as bin/ makes it) with the locked runtime
    dependencies, hash-checked, and the project installed from a wheel, not editable."""
    folder = reachable(tmp_path_factory.mktemp("installed"))
    venv = folder / "venv"
    ok(run([sys.executable, "-m", "venv", str(venv)], folder))
    pins = lockfile.runtime(lockfile.read(PROJECT_DIR / "conf" / "requirements.lock"),
                            lockfile.requirements(PROJECT_DIR / "setup.cfg"))
    (folder / "runtime.txt").write_text("".join(f"{p.requirement()}\n" for p in pins))
    pip = str(venv / "bin" / "pip")
    ok(run([pip, "install", *PIP_QUIET, "--require-hashes", "-r", str(folder / "runtime.txt")], folder))
    ok(run([pip, "install", *PIP_QUIET, "--no-deps", str(PROJECT_DIR)], folder))
    ok(run([pip, "check"], folder))
    return venv


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working folder that is not the checkout, and an environment with no trace of it."""
    return reachable(tmp_path)


def clean_env(env: dict[str, str], venv: Path) -> dict[str, str]:
    drop = {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}
    return {k: v for k, v in env.items() if k not in drop} | {"PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}


def test_the_installed_package_is_not_the_checkout(venv: Path, elsewhere: Path) -> None:
    """The wheel carries conf/ and sql/ as package data; nothing is read from the checkout."""
    where = ok(run([str(venv / "bin" / "python"), "-c", "from cryptostream.core import shipped_files as s, db; "
                    "print(s.CHECKOUT, s.CONF_DIR, len(db.script('schema')))"], elsewhere,
                   clean_env(dict(os.environ), venv))).stdout.split()
    assert where[0] == "None"
    assert Path(where[1]).is_relative_to(venv)
    assert (Path(where[1]) / "supervisor" / "pipeline.conf").is_file()
    assert int(where[2]) > 0


def test_checkout_only_commands_fail_with_one_line(venv: Path, elsewhere: Path) -> None:
    """Building images needs docker/ of a checkout: one `error:` line saying so, exit 2."""
    result = run([str(venv / "bin" / "cryptostream-build-images")], elsewhere, clean_env(dict(os.environ), venv))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: building the images needs a source checkout (bin/, docker/): git clone the project and run it from there"]


@pytest.fixture
def installed_stack(venv: Path, elsewhere: Path, tmp_path_factory) -> Iterator[tuple[NativeStack, dict[str, str]]]:
    """A native stack of the installed commands in a home of its own; always stopped."""
    stack = NativeStack(tmp_path_factory.mktemp("installed-home"))  # free ports, jars from var/jars
    env = clean_env(stack.env, venv)
    try:
        yield stack, env
    finally:
        if (stack.home / "run" / "supervisor.sock").exists():
            run([str(venv / "bin" / "cryptostream-stack"), "down"], elsewhere, env, timeout=300)


def test_stack_up_status_down_from_the_wheel(venv: Path, elsewhere: Path, installed_stack) -> None:
    """cryptostream-stack up --simulated brings rows for every symbol with the installed
    programs; status exits 0; down leaves no process of the stack running."""
    stack, env = installed_stack
    ok(run([str(venv / "bin" / "cryptostream-stack"), "up", "--simulated", "--wait-rows", "180"], elsewhere, env))
    config = stack.config
    symbols = {row[0] for row in query(config, "SELECT DISTINCT symbol FROM moving_averages")}
    assert symbols == set(config.exchange.symbols)
    servers = stack.server_processes()
    programs = [cmd for _uid, _pid, cmd in servers
                if "cryptostream-producer" in cmd or "cryptostream-processor" in cmd]
    assert len(programs) >= 2 and all(str(venv) in cmd for cmd in programs), programs
    assert (stack.home / "log" / "producer.log").stat().st_size > 0

    status = run([str(venv / "bin" / "cryptostream-status")], elsewhere, env, timeout=120)
    assert status.returncode == 0, status.stdout + status.stderr

    ok(run([str(venv / "bin" / "cryptostream-stack"), "down"], elsewhere, env, timeout=300))
    left = set(_process_table()) & {pid for _uid, pid, _cmd in servers}
    assert not left, [cmd for _uid, pid, cmd in servers if pid in left]
    assert not any(str(stack.home) in cmd for _parent, _uid, cmd in _process_table().values())
