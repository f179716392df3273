"""bin/status: one table of every component: supervisord state and uptime, last micro-batch,
lag, newest row. Exit 0 when all programs run, 2 otherwise."""
from __future__ import annotations

import argparse

from cryptostream import config as config_module
from cryptostream.ops import probes
from cryptostream.ops.checks import Status, fail, ok, report, run_all
from cryptostream.ops.daily_check import DailyCheck


def program_rows(check: DailyCheck) -> list:
    rows = []
    for name, info in sorted(check.states().items()):
        make = ok if info["statename"] == "RUNNING" or name == "exchange-sim" else fail
        rows.append(make(name, "supervisord", f"{info['statename']} {info['description']}", info["statename"]))
    return rows


def newest_row(check: DailyCheck):
    rows = probes.mysql_query(check.config, "latest_rows")
    if not rows:
        return ok("mysql", "newest row", "moving_averages is empty")
    symbol, start, _end, average, count, updated = rows[0]
    return ok("mysql", "newest row", f"{symbol} {start:%Y-%m-%d %H:%M:%S} avg {average} "
                                     f"({count} prices), updated {updated:%H:%M:%S} UTC")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="status", description="One table of all components.")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    check = DailyCheck(config_module.load())
    results = run_all([("supervisord", "programs", lambda: program_rows(check)),
                       ("spark", "last batch", check.last_batch),
                       ("spark", "lag", check.lag),
                       ("mysql", "newest row", lambda: newest_row(check))])
    # status informs; only a program that is down makes it non-zero
    results = [r if r.check == "supervisord" or r.status != Status.FAIL else
               ok(r.component, r.check, r.detail, r.value) for r in results]
    return report(results, args.json)
