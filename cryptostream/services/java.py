"""Runs Kafka's Java main classes from the jars bin/up resolved into var/jars/kafka."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from cryptostream.core.config import Config
from cryptostream.core.shipped_files import CONF_DIR


def kafka_command(config: Config, main_class: str, args: list[str], component: str,
                  heap: str | None = None, log_level: str = "info", log_to_stderr: bool = False) -> list[str]:
    """The java command line for one of Kafka's main classes, logging JSON."""
    jars = config.jars_dir / "kafka"
    if not any(jars.glob("*.jar")):
        raise FileNotFoundError(f"no Kafka jars in {jars}: run bin/up (it resolves them from Maven Central once)")
    java = shutil.which("java") or str(Path(os.environ.get("JAVA_HOME", "/usr")) / "bin" / "java")
    memory = [f"-Xms{heap}", f"-Xmx{heap}"] if heap else ["-Xmx256m"]
    return [java, *memory, "-XX:+UseG1GC", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile=file:{CONF_DIR}/log4j2-kafka.properties",
            f"-Dcryptostream.conf={CONF_DIR}", f"-Dcryptostream.component={component}",
            f"-Dcryptostream.loglevel={log_level}",
            f"-Dcryptostream.logtarget={'SYSTEM_ERR' if log_to_stderr else 'SYSTEM_OUT'}",
            "-cp", f"{jars}/*", main_class, *args]
