"""Runbook checks: results with a Nagios-style status, printed as a table or JSON.

Each check names its component and says why; a command exits with the worst status:
0 OK, 1 WARN, 2 FAIL, 3 UNKNOWN (a check could not run: a bug or a setting it could not use).
A part of the stack that does not answer is a finding (FAIL), not UNKNOWN: the monitoring-plugin
convention, where "could not check" is reserved for the plugin's own trouble.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from enum import IntEnum
from typing import Any, Callable, Iterable

from cryptostream.ops.cli import describe, unreachable
from cryptostream.ops.deployment import add_flags


class Status(IntEnum):
    OK = 0
    WARN = 1
    FAIL = 2
    UNKNOWN = 3


# Worst first when combining: a confirmed failure outranks "could not check", and both outrank a
# warning, so neither a crash nor an outage can ever read as WARN.
SEVERITY = {Status.OK: 0, Status.WARN: 1, Status.UNKNOWN: 2, Status.FAIL: 3}


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


def unknown(component: str, check: str, detail: str, value: Any = None) -> Result:
    return Result(component, check, Status.UNKNOWN, detail, value)


def run_all(checks: Iterable[tuple[str, str, Callable[[], Result | list[Result]]]]) -> list[Result]:
    """Run every check; one that raises does not stop the rest: an unreachable part of the stack
    is a FAIL naming it, anything else (a bug, an unusable setting) is UNKNOWN with one line."""
    results: list[Result] = []
    for component, name, check in checks:
        try:
            outcome = check()
        except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
            outcome = (fail if unreachable(exc) else unknown)(component, name, describe(exc))
        results.extend(outcome if isinstance(outcome, list) else [outcome])
    return results


def worst(results: Iterable[Result]) -> Status:
    return max((r.status for r in results), key=SEVERITY.__getitem__, default=Status.OK)


_COLOURS = {Status.OK: "\033[32m", Status.WARN: "\033[33m", Status.FAIL: "\033[31m", Status.UNKNOWN: "\033[35m"}


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


def check_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The arguments every check command takes: --json for machine-readable output, --docker or
    --native for the stack (default: the one running)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    return add_flags(parser)
