"""Builds local equivalents of the stack's images, for machines with Docker but no registry.

base   debootstrap'd Debian bookworm, imported once (a tarball cached under var/docker)
kafka  the Maven-resolved Kafka jars on a JRE (docker/kafka), like apache/kafka
mysql  Debian's MariaDB (docker/mysql), like mysql:8.4
app    the package, its wheelhouse and Spark-connector jars, supervisord (docker/app)
Docker's layer cache makes a second build fast; each step says what it is doing.
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from cryptostream.core.config import PROJECT_DIR, Config
from cryptostream.ops.stack import jars
from cryptostream.ops import cli

BASE_IMAGE = "cryptostream/base:bookworm"
LOCAL_IMAGES = {"kafka": "cryptostream/kafka:local", "mysql": "cryptostream/mysql:local",
                "app": "cryptostream/app:local"}
WHEELS = PROJECT_DIR / "var" / "wheels"
BUILD_PACKAGES = ("setuptools>=68", "wheel")  # for the editable install inside the app image


def exists(image: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode == 0


def build_base(say) -> None:
    if exists(BASE_IMAGE):
        return
    tarball = base_tarball(say)
    say(f"importing {BASE_IMAGE}")
    with open(tarball, "rb") as data:
        subprocess.run(["docker", "import", "-", BASE_IMAGE], stdin=data, check=True, stdout=subprocess.DEVNULL)


def base_tarball(say) -> Path:
    """A minimal Debian bookworm root filesystem (debootstrap), made once and cached: the base
    image, and the fresh machine of tests/test_fresh_machine.py."""
    tarball = PROJECT_DIR / "var" / "docker" / "bookworm-minbase.tar"
    if not tarball.exists():
        rootfs = tarball.with_suffix(".rootfs")
        say(f"debootstrap bookworm into {rootfs} (about 30 s)")
        shutil.rmtree(rootfs, ignore_errors=True)
        rootfs.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([_debootstrap(), "--variant=minbase", "bookworm", str(rootfs)], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tarball), "."], check=True)
        shutil.rmtree(rootfs)
    return tarball


def _debootstrap() -> str:
    found = shutil.which("debootstrap") or shutil.which("debootstrap", path="/usr/sbin:/sbin")
    if not found:
        raise FileNotFoundError("debootstrap not found: apt-get install debootstrap (bin/up --docker does as root)")
    return found


def build_wheelhouse(say) -> None:
    """Wheels of the package's dependencies (pyspark is built once from its sdist, then cached)."""
    stamp = WHEELS / ".stamp"
    want = hashlib.sha256((PROJECT_DIR / "setup.cfg").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == want:
        return
    say(f"building the wheelhouse {WHEELS} (pyspark takes a minute the first time)")
    WHEELS.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check",
                    "--wheel-dir", str(WHEELS), str(PROJECT_DIR), *BUILD_PACKAGES], check=True)
    stamp.write_text(want)


def build_image(name: str, say) -> None:
    say(f"docker build {LOCAL_IMAGES[name]}")
    build = subprocess.run(["docker", "build", "--network", "host", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}",
                            "-t", LOCAL_IMAGES[name], "-f", str(PROJECT_DIR / "docker" / name / "Dockerfile"),
                            str(PROJECT_DIR)], capture_output=True, text=True)
    if build.returncode != 0:  # the full build log only when it failed
        print(build.stdout[-6000:], build.stderr[-4000:], sep="\n", file=sys.stderr)
        raise RuntimeError(f"docker build of {LOCAL_IMAGES[name]} failed")


def build_all(config: Config, say=print) -> dict[str, str]:
    """Build every local image (cached); returns {service: image name}."""
    if config.jars_dir != PROJECT_DIR / "var" / "jars":
        raise ValueError("image builds take the jars from var/jars: unset CRYPTOSTREAM_JARS_DIR")
    jars.resolve(config, say)
    build_base(say)
    build_wheelhouse(say)
    for name in LOCAL_IMAGES:
        build_image(name, say)
    return dict(LOCAL_IMAGES)


@cli.command()
def main() -> int:
    from cryptostream.core import config as config_module
    images = build_all(config_module.load(), say=lambda m: print(f"==> {m}", flush=True))
    for name, image in images.items():
        print(f"{name:6} {image}")
    return 0
