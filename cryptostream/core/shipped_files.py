"""Where the files shipped with the package are: conf/ defaults and sql/, installed as the
packages cryptostream.conf and cryptostream.sql, and the source checkout when running from one."""
from __future__ import annotations

from importlib import resources
from pathlib import Path


class CheckoutRequired(RuntimeError):
    """A command needs files only a source checkout has (bin/, docker/)."""


def _folder(package: str) -> Path:
    # Java, supervisord and MariaDB are given these files by path, so they must be real files:
    # true for every installed wheel and for the editable install (never run from a zip).
    found = resources.files(package)
    if not isinstance(found, Path):
        raise RuntimeError(f"{package} is not a folder on disk ({found}); install cryptostream unzipped")
    return found


def _checkout() -> Path | None:
    root = Path(__file__).resolve().parents[2]
    return root if (root / "setup.cfg").is_file() and (root / "bin" / "lib").is_dir() else None


CONF_DIR = _folder("cryptostream.conf")  # cryptostream.ini, log4j2, maven poms, supervisord
SQL_DIR = _folder("cryptostream.sql")
CHECKOUT = _checkout()  # None when installed from a wheel


def checkout(needed_by: str) -> Path:
    """The source checkout, or CheckoutRequired saying what to do."""
    if CHECKOUT is None:
        raise CheckoutRequired(f"{needed_by} needs a source checkout (bin/, docker/): "
                               f"git clone the project and run it from there")
    return CHECKOUT
