"""Generated code or interpreted expressions, chosen per micro-batch.

Spark generates Java source for every plan it runs (whole-stage code generation on the
driver, and in each task the projections of the aggregation, which ObjectHashAggregate
builds per task). The compiled classes are cached, but the source is generated again for
each batch's new plan, only to find the class it names. For a batch of a few messages that
is most of the work (docs/PERFORMANCE.md, "Interpreted small batches", measures it); a big
batch (a drain) needs the generated code's speed per row.

`spark.sql.codegen.factoryMode` is marked internal in Spark; NO_CODEGEN makes its expression
factories build the interpreted versions, which Spark's own test suites run against the
generated ones. Both settings are read when a batch's plan is executed (the tasks get them
with the job), so setting them on the query's session before the batch's Spark work applies
them to that batch only.
"""
from __future__ import annotations

from typing import Any

GENERATED = (("spark.sql.codegen.wholeStage", "true"), ("spark.sql.codegen.factoryMode", "FALLBACK"))
INTERPRETED = (("spark.sql.codegen.wholeStage", "false"), ("spark.sql.codegen.factoryMode", "NO_CODEGEN"))


def use(spark: Any, interpreted: bool) -> None:
    """Set the session's code generation for the Spark work that follows (three calls into the JVM)."""
    conf = spark._jsparkSession.conf()
    for key, value in INTERPRETED if interpreted else GENERATED:
        conf.set(key, value)
