"""Spark expressions for per-message latency (processor/latency.py): each counted message's age
at the batch's start, as the upper edge of its bucket, and a group's ages as [(age, n)], so
the driver gets bucket counts, not times."""
from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from cryptostream.pipeline.processor.latency import FINE_MS, TICK_MS

# The column the batch's start is put in (classify.summarise), as a decimal literal: the start
# changes with every batch, and Spark writes a long literal into the generated Java source, so
# each batch would compile new code (~2 compilations, most of a small batch's CPU), while a
# decimal literal is handed to the same compiled code as a reference
# (tests/integration/test_classify.py counts compilations).
BATCH_START = "_batch_start_ms"


def age_at(time_ms: Column) -> Column:
    """Milliseconds from a time to the batch's start (column BATCH_START)."""
    return (F.col(BATCH_START) - time_ms).cast("long")


def age_edge(age_ms: Column) -> Column:
    """latency.bucket_edge in Spark, per row (generated code): the upper edge of an age's
    bucket, TICK_MS wide up to FINE_MS, then a tenth of its decade; 0 for an age below 0 (a
    producer clock ahead of ours)."""
    width = F.pow(F.lit(10), F.floor(F.log10(age_ms)) - 1)
    return (F.when(age_ms <= 0, F.lit(0))
            .when(age_ms <= FINE_MS, F.ceil(age_ms / TICK_MS) * TICK_MS)
            .otherwise((F.ceil(age_ms / width) * width).cast("long")))


def age_counts(ages: Column) -> Column:
    """A sorted array of age edges as [(age, n)]: its distinct values (at most ~1,000 + 90 per
    decade of age, whatever the batch size) with their counts, each count the distance between
    the first positions of two distinct values; the array functions run natively, the one
    lambda only over the distinct values."""
    distinct = F.array_distinct(ages)
    end = F.size(ages) + 1
    return F.transform(distinct, lambda age, k: F.struct(
        age.alias("age"),
        (F.coalesce(F.array_position(ages, F.try_element_at(distinct, k + 2)), end)
         - F.array_position(ages, age)).alias("n")))
