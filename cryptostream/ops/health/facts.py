"""Facts: the deployment, configuration and limits of one check run, and the facts its rows share, read once."""
from __future__ import annotations

from typing import Any, Callable

from cryptostream.ops.checks import Result
from cryptostream.ops.deployment.base import Deployment
from cryptostream.pipeline import topic


Row = tuple[str, str, Callable[[], Result | list[Result]]]  # (component, check, run it), as checks.run_all takes


class Facts:
    """What the row checks of one bin/daily-check, bin/status or bin/check-alerts run read."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.config = deployment.config
        self.limits = self.config.checks
        self._ends: dict[int, int] | Exception | None = None
        self._states: dict[str, dict[str, Any]] | None = None

    def ends(self) -> dict[int, int]:
        """The topic's end offset per partition. A failure is kept too: with Kafka away, every
        row asking gets the same error at once instead of waiting out the timeout again."""
        if self._ends is None:
            try:
                self._ends = topic.end_offsets(self.config)
            except Exception as exc:  # noqa: BLE001 - whatever failed, each row reports it
                self._ends = exc
        if isinstance(self._ends, Exception):
            raise self._ends
        return self._ends

    def states(self) -> dict[str, dict[str, Any]]:
        """supervisord's view of each program (and service container), by bare name."""
        if self._states is None:
            self._states = self.deployment.program_states()
        return self._states

    def rows(self, component: str, checks: dict[str, Callable[[Facts], Result | list[Result]]]) -> list[Row]:
        """(component, check name, row) for each row function, bound to these facts."""
        return [(component, name, lambda check=check: check(self)) for name, check in checks.items()]
