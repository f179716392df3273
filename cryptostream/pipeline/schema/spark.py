"""The Spark schema from_json reads a message with, derived from the message's field list."""
from __future__ import annotations

from cryptostream.pipeline.schema.message import MESSAGE_FIELDS

# {field: pyspark.sql.types class name}, what bin/weekly-check compares the processor's schema with
SPARK_TYPES = {f.name: f.spark for f in MESSAGE_FIELDS}


def spark_schema():  # -> pyspark.sql.types.StructType; pyspark imported lazily for the producer
    """The Spark schema for from_json; field types as read, validation happens after."""
    from pyspark.sql import types as T
    return T.StructType([T.StructField(f.name, getattr(T, f.spark)()) for f in MESSAGE_FIELDS])
