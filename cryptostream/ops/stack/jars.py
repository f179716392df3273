"""Resolves the Kafka and Spark-connector jars from Maven Central once, into var/jars, and
builds the processor's own (jvm_jar) and its class archive (archive_training)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from cryptostream.core import shipped_files
from cryptostream.core.config import Config
from cryptostream.pipeline.processor import archive_training, jvm_jar

POMS = {"kafka": ("kafka.xml", False), "spark": ("spark-kafka.xml", True)}


def resolve(config: Config, say=print) -> None:
    """Copy each set's jars into var/jars/<set>; a set already there (stamp matches its pom) is kept."""
    for name, (pom_file, direct_only) in POMS.items():
        pom = shipped_files.CONF_DIR / "maven" / pom_file
        target = config.jars_dir / name
        stamp = target / ".pom"
        if stamp.exists() and stamp.read_text() == pom.read_text():
            continue
        say(f"resolving {name} jars from Maven Central into {target} (cached in ~/.m2 after the first time)")
        _copy_dependencies(pom, target, direct_only)
        stamp.write_text(pom.read_text())
    jvm_jar.build(config, say)
    archive_training.build(config, say)


def _copy_dependencies(pom: Path, target: Path, direct_only: bool) -> None:
    mvn = shutil.which("mvn")
    if not mvn:
        raise FileNotFoundError("mvn not found: install maven (bin/up does on Debian/Ubuntu as root)")
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    command = [mvn, "-B", "-q", "-Dstyle.color=never", "-f", str(pom), "dependency:copy-dependencies",
               f"-DoutputDirectory={staging}", f"-DexcludeTransitive={str(direct_only).lower()}"]
    subprocess.run(command, check=True)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
