"""The processor's class archive (class_archive.py), recorded as set-up records it, is mapped
by the processor's own session: with -Xshare:on the JVM refuses to start unless it can use it,
so a classpath the archive does not match fails here rather than quietly slowing every start."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cryptostream.core.config import load
from cryptostream.pipeline.processor import archive_training, class_archive
from tests.helpers.harness import PROJECT_DIR

pytestmark = pytest.mark.integration  # a Spark session

SESSION = ("from cryptostream.core.config import load\n"
           "from cryptostream.pipeline.processor.session import build_session\n"
           "spark = build_session(load(), archive_options={options!r})\n"
           "print(spark.sparkContext._jvm.java.lang.System.getProperty('java.vm.info'))\n"
           "spark.stop()\n")


def test_the_processor_session_maps_the_recorded_archive(tmp_path: Path) -> None:
    env = dict(os.environ, CRYPTOSTREAM_HOME=str(tmp_path),
               CRYPTOSTREAM_JARS_DIR=str(PROJECT_DIR / "var" / "jars"))  # where set-up records it
    config = load(env=env)
    said: list[str] = []
    archive = archive_training.build(config, said.append)  # set-up's step: at once if recorded
    assert archive is not None, said
    assert archive.stat().st_mode & 0o044 == 0o044  # the service user reads it
    options = class_archive.java_options(config)
    assert str(archive) in options
    strict = options.replace("-Xshare:auto", "-Xshare:on")
    done = subprocess.run([sys.executable, "-c", SESSION.format(options=strict)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "sharing" in done.stdout
