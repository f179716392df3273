"""The processor's Spark session: its master, the Kafka connector jars, memory, UTC, loopback
only, and Spark's logging configured from conf/."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from cryptostream.core.config import Config
from cryptostream.core.shipped_files import CONF_DIR
from cryptostream.pipeline.processor import class_archive, local_fs
from cryptostream.pipeline.processor.classpath import processor_jar, spark_jars


def scratch_dir(config: Config) -> Path:
    """Spark's block and shuffle files under the stack's home instead of /tmp, a folder per
    process: a processor killed with -9 leaves its folder behind, and the next start removes
    those of processes no longer running (a bench's naive query may run beside the processor)."""
    root = config.var_dir / "tmp" / "spark"
    root.mkdir(parents=True, exist_ok=True)
    for left in root.glob("pid-*"):
        if left.name[4:].isdigit() and not Path(f"/proc/{left.name[4:]}").exists():
            shutil.rmtree(left, ignore_errors=True)
    mine = root / f"pid-{os.getpid()}"
    mine.mkdir(exist_ok=True)
    return mine


def build_session(config: Config, archive_options: str | None = None) -> Any:
    """The session; its driver JVM maps the class archive if there is one (class_archive.py),
    or runs with `archive_options` instead (the archive's training run)."""
    from pyspark.sql import SparkSession
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # driver, block manager: loopback only
    settings = config.processor
    java_options = (f"-Dlog4j2.configurationFile=file:{CONF_DIR}/log4j2-spark.properties "
                    f"-Dcryptostream.conf={CONF_DIR} -Dcryptostream.component=spark")
    scratch = scratch_dir(config)
    jar = processor_jar(config)
    archive = class_archive.java_options(config) if archive_options is None else archive_options
    builder = (SparkSession.builder.appName("cryptostream-processor").master(settings.spark_master)
               # the processor's jar too: executors of a cluster fetch it from the driver
               .config("spark.jars", ",".join([*spark_jars(config), str(jar)]))
               .config("spark.driver.memory", settings.driver_memory)
               .config("spark.executor.memory", settings.executor_memory)
               .config("spark.local.dir", str(scratch))
               .config("spark.driver.extraJavaOptions", f"{java_options} -Djava.io.tmpdir={scratch} {archive}".strip())
               .config("spark.executor.extraJavaOptions", java_options)
               .config("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.adaptive.enabled", "false")  # not used by streaming; avoids a warning
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.streaming.stopGracefullyOnShutdown", "true"))
    for key, value in local_fs.spark_settings(jar).items():
        builder = builder.config(key, value)
    if settings.cores_max:
        builder = builder.config("spark.cores.max", str(settings.cores_max))
    return builder.getOrCreate()
