"""Where a program's log is: var/log/<program>.log and its rotated copies."""
from __future__ import annotations

from pathlib import Path

from cryptostream.core.config import Config


def log_files(config: Config, program: str) -> list[Path]:
    """The program's log files, oldest first (.5 is the oldest rotated copy)."""
    folder = config.var_dir / "log"
    rotated = sorted((p for p in folder.glob(f"{program}.log.*") if p.suffix[1:].isdigit()),
                     key=lambda p: int(p.suffix[1:]), reverse=True)
    current = folder / f"{program}.log"
    return [*rotated, *([current] if current.exists() else [])]
