"""supervisord's view of the programs: their states now, and the unexpected exits in its log."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from cryptostream.core.config import Config
from cryptostream.ops import supervisor
from cryptostream.ops.cli import require_supervisord
from cryptostream.ops.health.probes.log_files import log_files

_UNEXPECTED_EXIT = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ \w+ exited: ([\w-]+) .*not expected")


def program_states(config: Config) -> dict[str, dict[str, Any]]:
    """supervisord's view of each program, by bare name."""
    require_supervisord(config)
    return {info["name"]: info for info in supervisor.process_info(config)}


def unexpected_exits(config: Config, hours: float = 24) -> dict[str, int]:
    """How often each program died unexpectedly (supervisord then restarts it) in the last
    `hours`; stops asked for by an operator do not count. supervisord logs local time."""
    since = datetime.now() - timedelta(hours=hours)
    counts: dict[str, int] = {}
    for path in log_files(config, "supervisord"):
        for line in path.read_text(errors="replace").splitlines():
            match = _UNEXPECTED_EXIT.match(line)
            if match and datetime.fromisoformat(match.group(1)) >= since:
                counts[match.group(2)] = counts.get(match.group(2), 0) + 1
    return counts
