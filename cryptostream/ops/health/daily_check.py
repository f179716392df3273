"""bin/daily-check: runbook section 3, every daily task as a check with a status and a reason.

3.1 Kafka     broker reachable, topic with the expected partitions, no abnormal restarts
3.2 Spark     processor running, last micro-batch recent, batch duration p95, lag from the
              checkpoint, MySQL writes occurring
3.3 Producer  running, API failures and rate limits in 24 h, messages published recently, configured
              symbols left out because the exchange does not list them or they are not TRADING
3.4 MySQL     new rows recently, no duplicate windows, no corrupted rows, timestamps sane, and
              bin/reconcile's exact account of every message still in Kafka
"""
from __future__ import annotations


from cryptostream.core import config as config_module
from cryptostream.ops import cli, deployment, programs
from cryptostream.ops.deployment import Deployment
from cryptostream.ops.checks import check_parser, report, run_all
from cryptostream.ops.health.facts import Facts, Row
from cryptostream.ops.health.rows import kafka, mysql, producer, spark, supervised


class DailyCheck:
    """The rows of runbook section 3, in order, over one run's Facts."""

    def __init__(self, deployment: Deployment) -> None:
        self.facts = Facts(deployment)

    def checks(self) -> list[Row]:
        return [*self.kafka_rows(), *self.spark_rows(), *self.producer_rows(), *self.mysql_rows()]

    def kafka_rows(self) -> list[Row]:
        facts = self.facts
        rows = facts.rows("kafka", {"topic": kafka.kafka_topic})
        if facts.deployment.runs(programs.KAFKA):  # else an external Kafka: nothing runs it here
            rows += [("kafka", "running", lambda: supervised.running(facts, "kafka", programs.KAFKA)),
                     ("kafka", "restarts", lambda: supervised.restarts(facts, "kafka", programs.KAFKA))]
        return rows

    def spark_rows(self) -> list[Row]:
        facts = self.facts
        return [("spark", "running", lambda: supervised.running(facts, "spark", programs.PROCESSOR)),
                *facts.rows("spark", {"last batch": spark.last_batch, "batch duration": spark.batch_duration,
                                      "lag": spark.lag})]

    def producer_rows(self) -> list[Row]:
        facts = self.facts
        return [("producer", "running", lambda: supervised.running(facts, "producer", programs.PRODUCER)),
                *facts.rows("producer", {"api": producer.api_health, "clock": producer.clock,
                                         "symbols": producer.symbols, "publishing": producer.publishing})]

    def mysql_rows(self) -> list[Row]:
        return self.facts.rows("mysql", {"new rows": mysql.new_rows, "duplicates": mysql.duplicates,
                                         "corrupted": mysql.corrupted, "timestamps": mysql.timestamps,
                                         "rejects": mysql.rejects, "account": mysql.account})


@cli.command(cli.UNKNOWN)
def main(argv: list[str] | None = None) -> int:
    parser = check_parser("daily-check", "Runbook section 3: daily health checks.")
    args = parser.parse_args(argv)
    return report(run_all(DailyCheck(deployment.choose(config_module.load(), args.deployment)).checks()), args.json)
