"""One version of each moving part everywhere it is named."""
from __future__ import annotations

import re

from cryptostream.ops.stack.containers import OFFICIAL
from tests.helpers.harness import PROJECT_DIR


def maven_property(file: str, name: str) -> str:
    text = (PROJECT_DIR / "conf" / "maven" / file).read_text()
    return re.search(rf"<{name}>([^<]+)</{name}>", text).group(1)


def test_kafka_is_one_version_natively_and_in_containers() -> None:
    """The jars bin/up resolves, compose's default image and bin/up --docker's official image."""
    version = maven_property("kafka.xml", "kafka.version")
    compose = (PROJECT_DIR / "docker" / "compose.yml").read_text()
    assert f"apache/kafka:{version}}}" in compose
    assert OFFICIAL["kafka"] == f"apache/kafka:{version}"


def test_the_spark_connector_matches_pyspark() -> None:
    """spark-sql-kafka must be built for the very pyspark version installed."""
    pinned = re.search(r"pyspark==([\d.]+)", (PROJECT_DIR / "setup.cfg").read_text()).group(1)
    assert maven_property("spark-kafka.xml", "spark.version") == pinned
