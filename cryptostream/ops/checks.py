"""Runbook checks: results with a Nagios-style status, printed as a table or JSON.

Each check names its component and says why; a command exits with the worst status:
0 OK, 1 WARN, 2 FAIL.
"""
from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from enum import IntEnum
from typing import Any, Callable, Iterable


class Status(IntEnum):
    OK = 0
    WARN = 1
    FAIL = 2


@dataclass(frozen=True)
class Result:
    component: str
    check: str
    status: Status
    detail: str
    value: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status.name}


def ok(component: str, check: str, detail: str, value: Any = None) -> Result:
    return Result(component, check, Status.OK, detail, value)


def warn(component: str, check: str, detail: str, value: Any = None) -> Result:
    return Result(component, check, Status.WARN, detail, value)


def fail(component: str, check: str, detail: str, value: Any = None) -> Result:
    return Result(component, check, Status.FAIL, detail, value)


def run_all(checks: Iterable[tuple[str, str, Callable[[], Result | list[Result]]]]) -> list[Result]:
    """Run every check; one that raises becomes a FAIL naming the error instead of stopping the rest."""
    results: list[Result] = []
    for component, name, check in checks:
        try:
            outcome = check()
        except Exception as exc:  # noqa: BLE001 - an unreachable part is a finding, not a crash
            outcome = fail(component, name, f"{type(exc).__name__}: {str(exc)[:200]}")
        results.extend(outcome if isinstance(outcome, list) else [outcome])
    return results


def worst(results: Iterable[Result]) -> Status:
    return max((r.status for r in results), default=Status.OK)


_COLOURS = {Status.OK: "\033[32m", Status.WARN: "\033[33m", Status.FAIL: "\033[31m"}


def render_table(results: list[Result], colour: bool) -> str:
    rows = [("STATUS", "COMPONENT", "CHECK", "DETAIL")] + [
        (r.status.name, r.component, r.check, r.detail) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for row, result in zip(rows, [None, *results]):
        status = row[0].ljust(widths[0])
        if colour and result is not None:
            status = f"{_COLOURS[result.status]}{status}\033[0m"
        lines.append(f"{status}  {row[1].ljust(widths[1])}  {row[2].ljust(widths[2])}  {row[3]}")
    overall = worst(results)
    lines.append(f"\noverall: {overall.name} (exit {int(overall)})")
    return "\n".join(lines)


def report(results: list[Result], as_json: bool) -> int:
    """Print the results and return the exit code."""
    if as_json:
        print(json.dumps({"status": worst(results).name, "results": [r.as_dict() for r in results]},
                         indent=2, default=str))
    else:
        print(render_table(results, colour=sys.stdout.isatty()))
    return int(worst(results))
