"""bin/status: one table of every component: supervisord state and uptime, last micro-batch,
lag, newest row. Exit 0 when every program runs, 2 otherwise (the checks are bin/daily-check's),
3 when it could not check (a bad setting, or a row that failed for another reason than an outage)."""
from __future__ import annotations

import argparse

from cryptostream.core import config as config_module
from cryptostream.ops.health.probes.mysql import mysql_query
from cryptostream.ops.checks import Status, fail, ok, report, run_all, worst
from cryptostream.ops.health.daily_check import DailyCheck
from cryptostream.ops import cli


def program_rows(check: DailyCheck) -> list:
    rows = []
    for name, info in sorted(check.states().items()):
        if name in check.config.external_services:  # left stopped: the service runs elsewhere
            continue
        make = ok if info["statename"] == "RUNNING" or name == "exchange-sim" else fail
        rows.append(make(name, "supervisord", f"{info['statename']} {info['description']}", info["statename"]))
    return rows


def newest_row(check: DailyCheck):
    rows = mysql_query(check.config, "latest_rows")
    if not rows:
        return ok("mysql", "newest row", "moving_averages is empty")
    symbol, start, _end, average, count, updated = rows[0]
    return ok("mysql", "newest row", f"{symbol} {start:%Y-%m-%d %H:%M:%S} avg {average} "
                                     f"({count} prices), updated {updated:%H:%M:%S} UTC")


@cli.command(cli.UNKNOWN)
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="status", description="One table of all components.")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    check = DailyCheck(config_module.load())
    results = run_all([("supervisord", "programs", lambda: program_rows(check)),
                       ("spark", "last batch", check.last_batch),
                       ("spark", "lag", check.lag),
                       ("producer", "symbols", check.symbols),
                       ("mysql", "newest row", lambda: newest_row(check))])
    report(results, args.json)
    # the table informs; the exit code says whether every program runs (2 if one does not or
    # supervisord does not answer) and 3 if a row could not be checked at all
    programs = [r for r in results if r.check == "supervisord" or r.component == "supervisord"]
    return int(worst([*programs, *(r for r in results if r.status is Status.UNKNOWN)]))
