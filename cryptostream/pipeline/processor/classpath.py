"""The driver's classpath: the Spark Kafka connector's jars and the processor's own jar, both
put in the jars folder at set-up (jars.resolve), beside the jars pyspark ships."""
from __future__ import annotations

from pathlib import Path

from cryptostream.core.config import Config
from cryptostream.pipeline.processor import jvm_jar


class MissingJars(RuntimeError):
    """A jar set-up puts in the jars folder (the Kafka connector's, the processor's own) is not there."""


def spark_jars(config: Config) -> list[str]:
    jars = [str(p) for p in _connector(config)]
    if not jars:
        raise MissingJars(f"no Spark Kafka connector jars in {config.jars_dir / 'spark'}: run bin/up "
                          "(it resolves them from Maven Central once)")
    return jars


def processor_jar(config: Config) -> Path:
    jar = jvm_jar.jar_path(config)
    if not jar.is_file():
        raise MissingJars(f"no {jar}: run bin/up (it compiles it once)")
    return jar


def every_jar(config: Config) -> list[Path]:
    """Every jar the driver may load classes from, there yet or not: what a class archive of
    the driver's JVM is valid for (class_archive.py)."""
    return [*jvm_jar.pyspark_jars(), jvm_jar.jar_path(config), *_connector(config)]


def _connector(config: Config) -> list[Path]:
    return sorted((config.jars_dir / "spark").glob("*.jar"))
