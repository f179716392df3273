"""conf/requirements.lock (pip-compile --generate-hashes): its pins and the part of it the
running pipeline needs, which the app image's wheelhouse is built from."""
from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from pathlib import Path

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class Pin:
    """One locked package: `name==version` with its hashes and what requires it."""
    name: str
    version: str
    hashes: tuple[str, ...]
    via: tuple[str, ...]

    def requirement(self, with_hashes: bool = True) -> str:
        hashes = "".join(f" --hash={h}" for h in self.hashes) if with_hashes else ""
        return f"{self.name}=={self.version}{hashes}"


def canonical(name: str) -> str:
    """PEP 503 name: 'Mysql_Connector.Python' and 'mysql-connector-python' are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read(path: Path) -> dict[str, Pin]:
    """The pins of a pip-compile output, by canonical name (its `# via` comments included)."""
    pins: dict[str, dict] = {}
    current: dict | None = None
    for line in path.read_text().splitlines():
        stripped = line.strip().rstrip("\\").strip()
        if not line[:1].isspace():  # a new pin, or a comment outside any pin
            name, _, version = stripped.partition("==")
            current = None if not version or stripped.startswith("#") else pins.setdefault(
                canonical(name), {"name": canonical(name), "version": version, "hashes": [], "via": []})
        elif current and stripped.startswith("--hash="):
            current["hashes"].append(stripped.removeprefix("--hash="))
        elif current and (stripped.startswith("# via ") or stripped.startswith("#   ")):
            current["via"].append(_via_name(stripped))
    return {name: Pin(p["name"], p["version"], tuple(p["hashes"]), tuple(p["via"])) for name, p in pins.items()}


def _via_name(comment: str) -> str:
    # "# via pyspark", "#   cryptostream (setup.cfg)"
    text = comment.lstrip("#").strip().removeprefix("via ").strip()
    return canonical(text.split(" ")[0])


def requirements(setup_cfg: Path, extra: str | None = None) -> list[str]:
    """install_requires (or one extra's list) of setup.cfg, as written, comments dropped."""
    parser = configparser.ConfigParser(inline_comment_prefixes=None)
    parser.read(setup_cfg)
    text = parser["options.extras_require"][extra] if extra else parser["options"]["install_requires"]
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def runtime(pins: dict[str, Pin], roots: list[str]) -> list[Pin]:
    """The pins needed by `roots` (requirement strings) and, through `via`, everything they pull in."""
    needed = {canonical(_NAME.match(root).group(1)) for root in roots}
    while True:
        more = {name for name, pin in pins.items() if name not in needed and needed & set(pin.via)}
        if not more:
            return [pins[name] for name in sorted(needed)]
        needed |= more
