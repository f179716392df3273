"""What `pip install .` ships (setup.cfg's packages and package data, cryptostream/core/shipped_files.py),
the data folder when installed, and conf/requirements.lock against setup.cfg."""
from __future__ import annotations

import configparser
import fnmatch
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from cryptostream.core import config as config_module
from cryptostream.core import shipped_files
from cryptostream.core.config import loader
from cryptostream.ops.stack import lockfile
from tests.helpers.harness import PROJECT_DIR

SETUP_CFG = PROJECT_DIR / "setup.cfg"
LOCK = PROJECT_DIR / "conf" / "requirements.lock"
NOT_SHIPPED = {"requirements.lock"}  # the checkout's venv and the image wheelhouse read it


def options() -> configparser.SectionProxy:
    parser = configparser.ConfigParser()
    parser.read(SETUP_CFG)
    return parser


def listed(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def test_every_package_folder_is_listed() -> None:
    """setup.cfg lists its packages by hand (find: cannot map conf/ and sql/): a new subpackage
    left out of the list would be missing from the wheel."""
    found = {".".join(p.parent.relative_to(PROJECT_DIR).parts)
             for p in (PROJECT_DIR / "cryptostream").rglob("__init__.py")}
    assert set(listed(options()["options"]["packages"])) == found | {"cryptostream.conf", "cryptostream.sql"}


def test_every_file_of_conf_and_sql_is_package_data() -> None:
    """Each file under conf/ and sql/ matches a package_data pattern, so the wheel has
    every default the checkout has."""
    data = options()["options.package_data"]
    # the files on disk, not git's list: the fresh-machine test runs this where git is absent
    files = [p.relative_to(PROJECT_DIR).as_posix() for folder in ("conf", "sql")
             for p in (PROJECT_DIR / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert len(files) > 10
    for file in files:
        folder, _, rest = file.partition("/")
        if rest in NOT_SHIPPED or rest == "__init__.py":
            continue
        patterns = [p.strip() for p in data[f"cryptostream.{folder}"].split(",")]
        assert any(fnmatch.fnmatch(rest, p) for p in patterns), f"{file} is not in package_data"


def test_shipped_files_are_the_checkouts_folders() -> None:
    """From a checkout (editable install) the shipped folders are conf/ and sql/ themselves."""
    assert shipped_files.CHECKOUT == PROJECT_DIR
    assert shipped_files.CONF_DIR == PROJECT_DIR / "conf"
    assert shipped_files.SQL_DIR == PROJECT_DIR / "sql"
    assert config_module.DEFAULT_CONFIG_FILE == PROJECT_DIR / "conf" / "cryptostream.ini"


def test_checkout_only_commands_say_what_to_do(monkeypatch) -> None:
    """Installed without a checkout, a command that needs bin/ or docker/ fails with one line."""
    monkeypatch.setattr(shipped_files, "CHECKOUT", None)
    with pytest.raises(shipped_files.CheckoutRequired, match=r"^building the images needs a source checkout"):
        shipped_files.checkout("building the images")


def test_data_folder_defaults(monkeypatch) -> None:
    """CRYPTOSTREAM_HOME unset: var/ of the checkout; installed, the XDG data folder for a user
    and /var/lib/cryptostream for root."""
    assert config_module.default_home({}) == PROJECT_DIR / "var"
    monkeypatch.setattr(loader, "CHECKOUT", None)  # default_home lives in config.loader
    monkeypatch.setattr(loader.os, "geteuid", lambda: 1000)
    assert config_module.default_home({"XDG_DATA_HOME": "/x/data"}) == Path("/x/data/cryptostream")
    assert config_module.default_home({}) == Path.home() / ".local" / "share" / "cryptostream"
    monkeypatch.setattr(loader.os, "geteuid", lambda: 0)
    assert config_module.default_home({}) == Path("/var/lib/cryptostream")


def test_home_wins_over_the_default(tmp_path: Path) -> None:
    """CRYPTOSTREAM_HOME decides where data lives."""
    assert config_module.load(env={"CRYPTOSTREAM_HOME": str(tmp_path)}).var_dir == tmp_path.resolve()


def every_requirement() -> list[Requirement]:
    names = [lockfile.requirements(SETUP_CFG)] + [lockfile.requirements(SETUP_CFG, e) for e in ("test", "report")]
    return [Requirement(text) for group in names for text in group]


def test_lock_pins_every_requirement_within_its_bounds() -> None:
    """Each requirement of setup.cfg (extras test and report too) is locked, at a version its
    bounds allow: a bound changed without regenerating the lock fails here."""
    pins = lockfile.read(LOCK)
    for requirement in every_requirement():
        pin = pins.get(lockfile.canonical(requirement.name))
        assert pin, f"{requirement.name} is not in {LOCK.name}; regenerate it (README.md, 'The lock')"
        assert requirement.specifier.contains(pin.version, prereleases=True), \
            f"{pin.name}=={pin.version} is outside {requirement}"


def test_every_pin_has_a_hash() -> None:
    """pip --require-hashes refuses a lock with a pin lacking a hash (or a version)."""
    pins = lockfile.read(LOCK)
    assert len(pins) > len(every_requirement())
    for pin in pins.values():
        assert pin.version, pin
        assert pin.hashes, pin
        assert all(h.startswith("sha256:") for h in pin.hashes), pin


def test_runtime_part_of_the_lock() -> None:
    """The app image's wheelhouse is the pipeline's requirements and what they pull in, not the
    test and report tools."""
    names = {p.name for p in lockfile.runtime(lockfile.read(LOCK), lockfile.requirements(SETUP_CFG))}
    assert {"pyspark", "py4j", "requests", "urllib3", "kafka-python", "supervisor", "websockets"} <= names
    assert not names & {"pytest", "matplotlib", "numpy", "bandit", "testcontainers", "hypothesis"}


def test_kafka_client_checks_crcs_in_c() -> None:
    """kafka-python verifies every fetched record batch's CRC-32C; with the crc32c package it
    does so in C (pure Python takes ~0.35 s a megabyte: minutes for a reconcile of a big topic)."""
    from kafka.record import _crc32c, util
    assert util.calc_crc32c.__defaults__[0] is not _crc32c.crc, "kafka-python falls back to its pure-Python CRC-32C"


def test_lock_reader(tmp_path: Path) -> None:
    """pip-compile's layout: a pin, its hashes, one or several `via` lines; other comments ignored."""
    lock = tmp_path / "l.txt"
    lock.write_text("#\n#    pip-compile x\n#\nA_b==1.0 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n"
                    "    # via c\nc==2 \\\n    --hash=sha256:cc\n    # via\n    #   d\n    #   x (setup.cfg)\n\n"
                    "# The following packages are considered to be unsafe in a requirements file:\n"
                    "pip==26 \\\n    --hash=sha256:dd\n    # via x\n")
    pins = lockfile.read(lock)
    assert pins["a-b"] == lockfile.Pin("a-b", "1.0", ("sha256:aa", "sha256:bb"), ("c",))
    assert pins["c"].via == ("d", "x")
    assert pins["pip"].via == ("x",)
    assert [p.name for p in lockfile.runtime(pins, ["c>=1"])] == ["a-b", "c"]
    assert pins["a-b"].requirement() == "a-b==1.0 --hash=sha256:aa --hash=sha256:bb"
