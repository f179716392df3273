"""The processor's Spark session writes its checkpoint without starting a process per file
(processor/local_fs.py). `chmod` and `readlink` stand-ins first on the JVM's PATH record each
call; a streaming query's checkpoint is written once through the processor's NioLocalFs and
once through Hadoop's own LocalFs, which must show the calls (else the stand-ins saw nothing)."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cryptostream.core.config import load
from cryptostream.pipeline.processor import jvm_jar
from cryptostream.pipeline.processor.classpath import processor_jar
from tests.helpers.harness import PROJECT_DIR

pytestmark = pytest.mark.integration

BATCHES = 4
# One query per file system, in the processor's own session (build_session); the key set on
# the session reaches the Hadoop configuration Spark's checkpoint writer gets. The calls go to
# a file: the JVM logs to the same stdout, and a log line can land inside a printed result.
SCRIPT = """
import json, os, sys
from pathlib import Path
from cryptostream.core.config import load
from cryptostream.pipeline.processor.session import build_session

spark = build_session(load())
calls, found = Path(os.environ["CALLS"]), {}
for name, impl in (("nio", None), ("hadoop", "org.apache.hadoop.fs.local.LocalFs")):
    if impl:
        spark.conf.set("fs.AbstractFileSystem.file.impl", impl)
    before = len(calls.read_text().splitlines()) if calls.exists() else 0
    query = (spark.readStream.format("rate").option("rowsPerSecond", 50).load().writeStream
             .format("noop").option("checkpointLocation", sys.argv[1] + "/" + name)
             .trigger(processingTime="200 milliseconds").start())
    while query.lastProgress is None or query.lastProgress["batchId"] < int(sys.argv[2]):
        query.awaitTermination(0.2)
    query.stop()
    found[name] = calls.read_text().splitlines()[before:] if calls.exists() else []
Path(sys.argv[3]).write_text(json.dumps(found))
"""


def stand_in(folder: Path, command: str, calls: Path) -> None:
    script = folder / command
    script.write_text(f'#!/bin/sh\necho "{command} $*" >> {calls}\nexec {shutil.which(command)} "$@"\n')
    script.chmod(0o755)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[dict[str, list[str]], Path]:
    home = tmp_path_factory.mktemp("local-fs")
    calls, stand_ins = home / "calls.log", home / "bin"
    stand_ins.mkdir()
    for command in ("chmod", "readlink"):
        stand_in(stand_ins, command, calls)
    env = dict(os.environ, CRYPTOSTREAM_HOME=str(home), CRYPTOSTREAM_PROCESSOR_SPARK_MASTER="local[1]",
               CRYPTOSTREAM_JARS_DIR=str(PROJECT_DIR / "var" / "jars"),  # set-up built the jar there
               CALLS=str(calls), PATH=f"{stand_ins}:{os.environ['PATH']}")
    processor_jar(load(env=env))
    checkpoints = home / "checkpoints"
    result = home / "calls.json"
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(checkpoints), str(BATCHES), str(result)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(result.read_text()), checkpoints


def test_the_checkpoint_is_written_without_a_process_per_file(written) -> None:
    found, _ = written
    assert len([c for c in found["hadoop"] if c.startswith("chmod")]) >= BATCHES, found["hadoop"]
    assert found["nio"] == []


def test_files_have_the_modes_and_checksums_hadoop_gives_them(written) -> None:
    """NioLocalFs changes how a file's mode is set, not what it is; checksums are still written."""
    _, checkpoints = written
    for log in ("offsets", "commits"):
        ours, theirs = checkpoints / "nio" / log / "1", checkpoints / "hadoop" / log / "1"
        assert stat.S_IMODE(ours.stat().st_mode) == stat.S_IMODE(theirs.stat().st_mode)
        assert (ours.parent / ".1.crc").is_file()
        assert ours.read_text().splitlines()[0] == "v1"


def test_the_jar_is_rebuilt_only_when_its_sources_change(tmp_path, monkeypatch) -> None:
    config = load(env=dict(os.environ, CRYPTOSTREAM_JARS_DIR=str(tmp_path)))
    said: list[str] = []
    jar = jvm_jar.build(config, said.append)
    assert jvm_jar.build(config, said.append) == jar and len(said) == 1
    changed = tmp_path / "jvm"
    shutil.copytree(jvm_jar.SOURCES, changed)
    source = next(changed.rglob("NioLocalFs.java"))
    source.write_text(source.read_text() + "\n// changed\n")
    monkeypatch.setattr(jvm_jar, "SOURCES", changed)
    jvm_jar.build(config, said.append)
    assert len(said) == 2
