"""The README's first command on a fresh machine of the kind CI uses.

A clean Debian bookworm root filesystem (debootstrap, cached) holding only what the README
says a fresh machine has (Python 3 and Java 17) plus this machine's package access (apt
sources, CA certificates, pip settings), and a clean clone of this tree. Inside it, as root:
bin/up --simulated, rows for every symbol, bin/status, bin/down, bin/test -m unit
(tests/e2e/fresh/fresh_machine.sh). Every step's output goes to one log, named by any failure.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from cryptostream.core.config import load
from cryptostream.core.ports import free_port
from cryptostream.ops.stack import images
from tests.helpers.harness import PROJECT_DIR

pytestmark = pytest.mark.fresh

# What a new machine of this kind has: Python and Java (README), its package access and its
# name resolution (a container runtime or VM writes /etc/hosts; debootstrap does not).
PREINSTALLED = ("python3", "openjdk-17-jre-headless", "ca-certificates")
PACKAGE_ACCESS = ("etc/apt/sources.list", "etc/apt/sources.list.d", "etc/apt/apt.conf.d/99artifact-registry",
                  "etc/ssl/certs/ca-certificates.crt", "usr/local/share/ca-certificates", "etc/pip.conf",
                  "etc/resolv.conf", "root/.m2/settings.xml", "etc/hosts")
ACCESS_VARIABLES = ("PIP_CERT", "PIP_DEFAULT_TIMEOUT", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "SSL_CERT_FILE",
                    "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "http_proxy", "https_proxy",
                    "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY")
CLONE = "srv/cryptostream"  # a folder others may enter: the servers run as an unprivileged user
SYMBOLS = load(env={}).exchange.symbols


def test_readme_first_command_works_on_a_fresh_machine(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (chroot and mounts), as CI runs")
    log = PROJECT_DIR / "var" / "log" / "fresh-machine.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    root = tmp_path / "machine"
    with open(log, "w") as out:
        try:
            make_machine(root, out)
            clone_into(root / CLONE, out)
            finished = inside(root, [f"/{CLONE}/tests/e2e/fresh/fresh_machine.sh"], out, machine_environment())
        finally:
            left = stop_leftovers(root)
    text = log.read_text(errors="replace")
    assert finished.returncode == 0, f"the fresh machine failed (exit {finished.returncode}); see {log}:\n{text[-3000:]}"
    counts = rows_per_symbol(text)
    assert set(counts) == set(SYMBOLS) and all(n > 0 for n in counts.values()), f"rows: {counts}; see {log}"
    assert "=== fresh machine: done" in text
    assert left == [], f"processes left behind by bin/down: {left}"


def make_machine(root: Path, out) -> None:
    say = lambda message: print(f"=== {message}", file=out, flush=True)  # noqa: E731
    tarball = images.base_tarball(say)
    root.mkdir(parents=True)
    subprocess.run(["tar", "-C", str(root), "-xf", str(tarball)], check=True)
    for item in PACKAGE_ACCESS:
        source, target = Path("/") / item, root / item
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        elif source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    # Debian's container images (which CI's machines are) forbid service starts this way
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    say(f"installing what the README says a fresh machine has: {' '.join(PREINSTALLED)}")
    prepared = inside(root, ["sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                             f"--no-install-recommends {' '.join(PREINSTALLED)}"], out, machine_environment())
    assert prepared.returncode == 0, "could not prepare the fresh machine (apt-get); see the log"


def clone_into(target: Path, out) -> None:
    """A clean clone of the commit under test (HEAD), nothing else of this checkout."""
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(PROJECT_DIR), str(target)], check=True,
                   stdout=out, stderr=subprocess.STDOUT)
    head = subprocess.run(["git", "-C", str(PROJECT_DIR), "rev-parse", "HEAD"], capture_output=True, text=True)
    subprocess.run(["git", "-C", str(target), "checkout", "-q", head.stdout.strip()], check=True)
    shutil.rmtree(target / ".git")


def machine_environment() -> dict[str, str]:
    """A login's environment on such a machine, its package access, and free loopback ports so
    that the fresh stack never meets one already running here."""
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
           "LANG": "C.UTF-8", "TERM": "dumb"}
    env.update({k: v for k, v in os.environ.items() if k in ACCESS_VARIABLES})
    for name in ("KAFKA_PORT", "KAFKA_CONTROLLER_PORT", "MYSQL_PORT", "SIMULATOR_PORT", "SIMULATOR_MIRROR_PORT",
                 "SIMULATOR_WS_PORT", "METRICS_PRODUCER_PORT", "METRICS_PROCESSOR_PORT"):
        env[f"CRYPTOSTREAM_{name}"] = str(free_port())
    env["CRYPTOSTREAM_KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{env['CRYPTOSTREAM_KAFKA_PORT']}"
    return env


def inside(root: Path, command: list[str], out, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`command` chrooted into `root`, with /proc, /sys, /dev and a /tmp of its own, in a mount
    namespace of its own (the mounts go when its last process does)."""
    mounts = (f"mount -t proc proc {root}/proc && mount -t sysfs sysfs {root}/sys && "
              f"mount --rbind /dev {root}/dev && mount -t tmpfs tmpfs {root}/tmp && "
              f'exec chroot {root} "$@"')
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", mounts, "sh", *command],
                          stdout=out, stderr=subprocess.STDOUT, env=env, timeout=2400)


def stop_leftovers(root: Path) -> list[str]:
    """kill -9 every process still running in the fresh machine; their command lines."""
    left = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.readlink(entry / "root") == str(root):
                left.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:200])
                os.kill(int(entry.name), 9)
        except OSError:
            continue
    if left:
        time.sleep(1)
    return left


def rows_per_symbol(log: str) -> dict[str, int]:
    """The `bin/mysql --batch` answer of the rows step: symbol<TAB>count lines."""
    section = log.split("=== fresh machine: rows per symbol", 1)[-1].split("=== fresh machine:", 1)[0]
    counts = {}
    for line in section.splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts
