"""Fixtures of the integration tier: a local Spark session and a private MariaDB, each one per
test module."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cryptostream.core.config import Config, load
from cryptostream.core.polling import wait_for
from cryptostream.core.ports import free_port, port_open
from cryptostream.ops.stack import provisioning, secrets
from cryptostream.pipeline.processor import jvm_jar
from tests.helpers.harness import PROJECT_DIR


@pytest.fixture(scope="module")
def spark():
    """A local Spark session with the processor's jar (jvm_pass.py) on its classpath: the first
    session of the test process launches the JVM, so every module's gets it."""
    from pyspark.sql import SparkSession
    jars = dict(os.environ, CRYPTOSTREAM_JARS_DIR=str(PROJECT_DIR / "var" / "jars"))  # where set-up builds it
    jar = jvm_jar.build(load(env=jars), say=lambda _: None)
    session = (SparkSession.builder.master("local[1]").appName("test-classify")
               .config("spark.driver.extraClassPath", str(jar))
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "1")
               .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    yield session
    session.stop()


@pytest.fixture(scope="module")
def mysql_config(tmp_path_factory) -> Config:
    """A private MariaDB (cryptostream-mysqld, as bin/up runs it) on a free port, with the schema
    and the application user (provisioning.bootstrap); the configuration to reach it."""
    home = tmp_path_factory.mktemp("mysql")
    env = dict(os.environ, CRYPTOSTREAM_HOME=str(home), CRYPTOSTREAM_MYSQL_PORT=str(free_port()),
               CRYPTOSTREAM_PROCESSOR_MYSQL_RETRIES="2", CRYPTOSTREAM_PROCESSOR_WINDOW="1m")
    secrets.ensure(load(env=env))
    config = load(env=env)
    log = home / "mysql.log"
    with log.open("w") as output:
        server = subprocess.Popen([str(Path(sys.executable).parent / "cryptostream-mysqld")], env=env,
                                  stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for("MariaDB", lambda: port_open(config.mysql.port) or server.poll() is not None, 60, interval=0.3)
        assert server.poll() is None, f"MariaDB exited {server.returncode}:\n{log.read_text()[-3000:]}"
        provisioning.bootstrap(config)
        yield config
    finally:
        server.terminate()
        server.wait(30)
