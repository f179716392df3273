"""Builds local equivalents of the stack's images, for machines with Docker but no registry.

base   debootstrap'd Debian bookworm, imported once (a tarball cached in ~/.cache/cryptostream)
kafka  the Maven-resolved Kafka jars on a JRE (docker/kafka), like apache/kafka
mysql  Debian's MariaDB (docker/mysql), like mysql:8.4
app    the project's wheel and its dependencies' wheels (var/wheels, from conf/requirements.lock),
       the Spark-connector jars, supervisord (docker/app)
Docker's layer cache makes a second build fast; each step says what it is doing.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cryptostream.core import shipped_files
from cryptostream.core.config import Config
from cryptostream.ops import cli
from cryptostream.ops.stack import jars, lockfile

BASE_IMAGE = "cryptostream/base:bookworm"
LOCAL_IMAGES = {"kafka": "cryptostream/kafka:local", "mysql": "cryptostream/mysql:local",
                "app": "cryptostream/app:local"}
LABEL = "org.cryptostream.image"  # on every image built here: what prune_replaced may remove
PIP = (sys.executable, "-m", "pip", "--disable-pip-version-check")
ZIP_EPOCH = "315532800"  # 1980-01-01, the earliest time a zip entry can hold


def context() -> Path:
    """The docker build context: the source checkout (the images are built from it)."""
    return shipped_files.checkout("building the images")


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
    image, and the fresh machine of tests/e2e/fresh/test_fresh_machine.py. Cached for the
    machine's user, as Maven's ~/.m2 is, not in the checkout: a new clone needs no new one."""
    tarball = _cache_dir() / "bookworm-minbase.tar"
    if not tarball.exists():
        tarball.parent.mkdir(parents=True, exist_ok=True)
        rootfs = Path(tempfile.mkdtemp(prefix="bookworm-minbase.", suffix=".rootfs", dir=tarball.parent))
        partial = tarball.with_name(f"{tarball.name}.{os.getpid()}.partial")  # another run may read the tarball
        say(f"debootstrap bookworm into {rootfs} (about 30 s)")
        try:
            subprocess.run([_debootstrap(), "--variant=minbase", "bookworm", str(rootfs)], check=True,
                           stdout=subprocess.DEVNULL)
            subprocess.run(["tar", "-C", str(rootfs), "-cf", str(partial), "."], check=True)
            partial.rename(tarball)
        finally:
            shutil.rmtree(rootfs, ignore_errors=True)
            partial.unlink(missing_ok=True)
    return tarball


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cryptostream"


def _debootstrap() -> str:
    found = shutil.which("debootstrap") or shutil.which("debootstrap", path="/usr/sbin:/sbin")
    if not found:
        raise FileNotFoundError("debootstrap not found: apt-get install debootstrap (bin/up --docker does as root)")
    return found


def build_wheelhouse(say) -> None:
    """var/wheels/deps: what the pipeline needs from conf/requirements.lock, each download checked
    against the lock's hashes (pyspark, an sdist, is built into a wheel here, once per lock);
    var/wheels/app: the project's own wheel, built every time."""
    root = context()
    lock, setup_cfg = root / "conf" / "requirements.lock", root / "setup.cfg"
    deps = root / "var" / "wheels" / "deps"
    stamp = deps / ".stamp"
    want = hashlib.sha256(lock.read_bytes() + setup_cfg.read_bytes()).hexdigest()
    if not (stamp.exists() and stamp.read_text() == want):
        say(f"building the wheelhouse {deps} from {lock.name} (pyspark takes a minute the first time)")
        pins = lockfile.runtime(lockfile.read(lock), lockfile.requirements(setup_cfg))
        _hash_checked_wheels(pins, deps)
        # the image installs exactly these versions; see docker/app/Dockerfile for why without hashes
        (deps / "requirements.txt").write_text("".join(f"{p.requirement(with_hashes=False)}\n" for p in pins))
        stamp.write_text(want)
    _project_wheel(root, root / "var" / "wheels" / "app", say)


def _hash_checked_wheels(pins: list[lockfile.Pin], target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as hashed:
        hashed.write("".join(f"{p.requirement()}\n" for p in pins))
        hashed.flush()
        subprocess.run([*PIP, "wheel", "-q", "--require-hashes", "--no-deps", "-r", hashed.name,
                        "--wheel-dir", str(target)], check=True)


def _project_wheel(root: Path, target: Path, say) -> None:
    say(f"building the cryptostream wheel into {target}")
    shutil.rmtree(target, ignore_errors=True)
    # setuptools never empties build/: a module deleted from the code would still ship
    shutil.rmtree(root / "build", ignore_errors=True)
    # fixed zip timestamps: the same code gives the same wheel, so docker reuses the app's layer
    # and a second bin/up --docker leaves the running containers alone instead of recreating them
    reproducible = {**os.environ, "SOURCE_DATE_EPOCH": ZIP_EPOCH}
    subprocess.run([*PIP, "wheel", "-q", "--no-deps", "--wheel-dir", str(target), str(root)], check=True,
                   env=reproducible)


def build_image(name: str, say) -> None:
    say(f"docker build {LOCAL_IMAGES[name]}")
    build = subprocess.run(["docker", "build", "--network", "host", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}",
                            "--label", f"{LABEL}={name}", "-t", LOCAL_IMAGES[name],
                            "-f", str(context() / "docker" / name / "Dockerfile"), str(context())],
                           capture_output=True, text=True)
    if build.returncode != 0:  # the full build log only when it failed
        print(build.stdout[-6000:], build.stderr[-4000:], sep="\n", file=sys.stderr)
        raise RuntimeError(f"docker build of {LOCAL_IMAGES[name]} failed")


def prune_replaced(say) -> None:
    """Remove the images a rebuild untagged and no container uses: each change of the code
    makes a new app image, and without this every old one keeps its 1.8 GB."""
    pruned = subprocess.run(["docker", "image", "prune", "--force", "--filter", f"label={LABEL}"],
                            capture_output=True, text=True)
    if "Deleted" in pruned.stdout:
        say(pruned.stdout.strip().splitlines()[-1].lower())


def build_all(config: Config, say=print) -> dict[str, str]:
    """Build every local image (cached); returns {service: image name}."""
    if config.jars_dir != context() / "var" / "jars":
        raise ValueError("image builds take the jars from var/jars: unset CRYPTOSTREAM_JARS_DIR")
    jars.resolve(config, say)
    build_base(say)
    build_wheelhouse(say)
    for name in LOCAL_IMAGES:
        build_image(name, say)
    prune_replaced(say)
    return dict(LOCAL_IMAGES)


@cli.command()
def main() -> int:
    from cryptostream.core import config as config_module
    images = build_all(config_module.load(), say=lambda m: print(f"==> {m}", flush=True))
    for name, image in images.items():
        print(f"{name:6} {image}")
    return 0
