"""bin/check-alerts: runbook section 7.2, the alert conditions with thresholds from [checks].

Kafka lag, micro-batch duration, MySQL write failures and the producer's API failure rate;
exit 0 when none fires, 1 for warnings, 2 for alerts at the failure threshold.
"""
from __future__ import annotations


from cryptostream.core import config as config_module
from cryptostream.core import events
from cryptostream.ops import cli, deployment, programs
from cryptostream.ops.checks import Result, check_parser, fail, ok, report, run_all
from cryptostream.ops.health.facts import Facts
from cryptostream.ops.health.probes.log_events import events_named
from cryptostream.ops.health.rows import producer, spark


def mysql_write_failures(facts: Facts) -> Result:
    """Sink retries and failed queries logged by the processor in the last hour."""
    failures = events_named(facts.deployment, programs.PROCESSOR, events.WRITE_FAILURES, 1)
    if failures:
        last = failures[-1]
        error = str(last.get("error", last["event"])).splitlines()[0][:160]
        return fail("mysql", "write failures", f"{len(failures)} MySQL write failures/retries in 1 h, last "
                                               f"{last['timestamp']}: {error}", len(failures))
    return ok("mysql", "write failures", "no MySQL write failure in 1 h", 0)


@cli.command(cli.UNKNOWN)
def main(argv: list[str] | None = None) -> int:
    parser = check_parser("check-alerts", "Runbook section 7.2: alert conditions.")
    args = parser.parse_args(argv)
    facts = Facts(deployment.choose(config_module.load(), args.deployment))
    return report(run_all([*facts.rows("spark", {"lag": spark.lag, "batch duration": spark.batch_duration}),
                           *facts.rows("mysql", {"write failures": mysql_write_failures}),
                           *facts.rows("producer", {"api": producer.api_health})]), args.json)
