"""bin/status: one table of every component: supervisord state and uptime, last micro-batch,
lag, newest row. Exit 0 when every program runs, 2 otherwise (the rows are bin/daily-check's),
3 when it could not check (a bad setting, or a row that failed for another reason than an outage)."""
from __future__ import annotations


from cryptostream.core import config as config_module
from cryptostream.ops import cli, deployment
from cryptostream.ops.checks import Result, Status, check_parser, fail, ok, report, run_all, worst
from cryptostream.ops.health.facts import Facts
from cryptostream.ops.health.probes.mysql import mysql_query
from cryptostream.ops.health.rows import producer, spark
from cryptostream.ops.programs import OPTIONAL


def program_rows(facts: Facts) -> list[Result]:
    rows = []
    for name, info in sorted(facts.states().items()):
        if not facts.deployment.runs(name):  # left stopped: the service runs elsewhere
            continue
        make = ok if info["statename"] == "RUNNING" or name in OPTIONAL else fail
        rows.append(make(name, "supervisord", f"{info['statename']} {info['description']}", info["statename"]))
    return rows


def newest_row(facts: Facts) -> Result:
    rows = mysql_query(facts.config, "latest_rows")
    if not rows:
        return ok("mysql", "newest row", "moving_averages is empty")
    symbol, start, _end, average, count, updated = rows[0]
    return ok("mysql", "newest row", f"{symbol} {start:%Y-%m-%d %H:%M:%S} avg {average} "
                                     f"({count} prices), updated {updated:%H:%M:%S} UTC")


@cli.command(cli.UNKNOWN)
def main(argv: list[str] | None = None) -> int:
    parser = check_parser("status", "One table of all components.")
    args = parser.parse_args(argv)
    facts = Facts(deployment.choose(config_module.load(), args.deployment))
    results = run_all([*facts.rows("supervisord", {"programs": program_rows}),
                       *facts.rows("spark", {"last batch": spark.last_batch, "lag": spark.lag}),
                       *facts.rows("producer", {"symbols": producer.symbols}),
                       *facts.rows("mysql", {"newest row": newest_row})])
    report(results, args.json)
    # the table informs; the exit code says whether every program runs (2 if one does not or
    # supervisord does not answer) and 3 if a row could not be checked at all
    programs = [r for r in results if r.check == "supervisord" or r.component == "supervisord"]
    return int(worst([*programs, *(r for r in results if r.status is Status.UNKNOWN)]))
