"""The processor's Spark session: its master, the Kafka connector jars, memory, UTC, loopback
only, and Spark's logging configured from conf/."""
from __future__ import annotations

import os
from typing import Any

from cryptostream.core.config import Config
from cryptostream.core.shipped_files import CONF_DIR


class MissingJars(RuntimeError):
    """The Kafka connector jars were not resolved at set-up."""


def spark_jars(config: Config) -> list[str]:
    jars = sorted(str(p) for p in (config.jars_dir / "spark").glob("*.jar"))
    if not jars:
        raise MissingJars(f"no Spark Kafka connector jars in {config.jars_dir / 'spark'}: run bin/up "
                          "(it resolves them from Maven Central once)")
    return jars


def build_session(config: Config) -> Any:
    from pyspark.sql import SparkSession
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # driver, block manager: loopback only
    settings = config.processor
    java_options = (f"-Dlog4j2.configurationFile=file:{CONF_DIR}/log4j2-spark.properties "
                    f"-Dcryptostream.conf={CONF_DIR} -Dcryptostream.component=spark")
    builder = (SparkSession.builder.appName("cryptostream-processor").master(settings.spark_master)
               .config("spark.jars", ",".join(spark_jars(config)))
               .config("spark.driver.memory", settings.driver_memory)
               .config("spark.executor.memory", settings.executor_memory)
               .config("spark.driver.extraJavaOptions", java_options)
               .config("spark.executor.extraJavaOptions", java_options)
               .config("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.adaptive.enabled", "false")  # not used by streaming; avoids a warning
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.streaming.stopGracefullyOnShutdown", "true"))
    if settings.cores_max:
        builder = builder.config("spark.cores.max", str(settings.cores_max))
    return builder.getOrCreate()
