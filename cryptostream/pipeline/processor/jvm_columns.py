"""The plans built once (parse.py, classify.py) handed to Spark with as few calls into the JVM
as can be: each such call is a py4j round trip that Spark's stream execution thread runs
inside foreachBatch (a small batch made 350 of them; 150 after naming columns once, about 30
with the lists below made once).

- A column named by a string is resolved in the JVM each time a plan uses it (three calls):
  the cached plans hold Column objects (`named`).
- pyspark turns each list of columns of a select, groupBy or agg into a Java list element by
  element (one call per column): `select` and `aggregate` make each list's Java sequence once.
"""
from __future__ import annotations

from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

_SEQUENCES: dict[tuple[int, int], tuple[tuple[Column, ...], Any]] = {}


def named(*items: Column | str) -> tuple[Column, ...]:
    """Each string as the Column of that name; Columns as they are."""
    return tuple(F.col(item) if isinstance(item, str) else item for item in items)


def select(frame: DataFrame, columns: tuple[Column, ...]) -> DataFrame:
    """frame.select(*columns) for a tuple that lives as long as the process (a cached one)."""
    return type(frame)(frame._jdf.select(_sequence(frame, columns)), frame.sparkSession)


def aggregate(frame: DataFrame, by: tuple[Column, ...], aggregates: tuple[Column, ...]) -> DataFrame:
    """frame.groupBy(*by).agg(*aggregates), for tuples that live as long as the process."""
    grouped = frame._jdf.groupBy(_sequence(frame, by))
    return type(frame)(grouped.agg(aggregates[0]._jc, _sequence(frame, aggregates, 1)), frame.sparkSession)


def _sequence(frame: DataFrame, columns: tuple[Column, ...], start: int = 0) -> Any:
    """The JVM's Seq of columns[start:], made at its first use; the tuple is kept with it, so
    its id is not reused by another."""
    known = _SEQUENCES.get((id(columns), start))
    if known is None or known[0] is not columns:
        jvm = frame.sparkSession._jvm
        known = _SEQUENCES[(id(columns), start)] = (columns, jvm.PythonUtils.toSeq([c._jc for c in columns[start:]]))
    return known[1]
