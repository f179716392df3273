"""class_archive: the archive's name follows the JVM and every jar it is checked against; the
processor asks for it only when set-up has recorded it; old ones are cleared. No JVM runs here
(tests/integration/test_class_archive.py records one and maps it)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from cryptostream.core.config import load
from cryptostream.pipeline.processor import archive_training, class_archive, jvm_jar

pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="the name includes the JVM's build")


@pytest.fixture
def config(tmp_path: Path):
    (tmp_path / "spark").mkdir()
    (tmp_path / "spark" / "kafka-clients.jar").write_bytes(b"v1")
    config = load(env={"CRYPTOSTREAM_JARS_DIR": str(tmp_path), "CRYPTOSTREAM_HOME": str(tmp_path)})
    jvm_jar.jar_path(config).parent.mkdir()
    jvm_jar.jar_path(config).write_bytes(b"classes")
    return config


def test_a_changed_jar_names_another_archive(config) -> None:
    before = class_archive.archive_path(config)
    jar = config.jars_dir / "spark" / "kafka-clients.jar"
    jar.write_bytes(b"v2")
    assert class_archive.archive_path(config) != before
    assert class_archive.archive_path(config) == class_archive.archive_path(config)  # and only then


def test_the_archive_is_asked_for_only_once_recorded(config) -> None:
    assert class_archive.current(config) is None and class_archive.java_options(config) == ""
    archive = class_archive.archive_path(config)
    archive.parent.mkdir()
    archive.write_bytes(b"recorded")
    assert class_archive.current(config) == archive
    assert f"-XX:SharedArchiveFile={archive} -Xshare:auto" in class_archive.java_options(config)
    assert "-Xlog:cds=off" in class_archive.java_options(config)  # a mismatch warning would break the JSON log


def test_without_the_processor_jar_there_is_no_archive_to_ask_for(config) -> None:
    jvm_jar.jar_path(config).unlink()
    assert class_archive.java_options(config) == ""


def test_only_the_newest_archives_are_kept(tmp_path: Path) -> None:
    for age in range(5):
        path = tmp_path / f"processor-{age}.jsa"
        path.write_bytes(b"x")
        os.utime(path, ns=(age * 10**9, age * 10**9))
    class_archive.keep_newest(tmp_path, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["processor-2.jsa", "processor-3.jsa", "processor-4.jsa"]


def test_a_failed_recording_is_said_and_leaves_no_archive(config, monkeypatch) -> None:
    """bin/up goes on without the archive (a slower start), saying where the run's output is."""
    monkeypatch.setattr(archive_training, "MODULE", "cryptostream.no_such_module")  # fails at once, no JVM
    said: list[str] = []
    assert archive_training.build(config, said.append) is None
    folder = class_archive.archive_path(config).parent
    assert [p.name for p in folder.iterdir()] == [archive_training.TRAINING_LOG]  # no partial, no archive
    assert "could not record the class archive" in said[-1] and archive_training.TRAINING_LOG in said[-1]
    assert "no_such_module" in (folder / archive_training.TRAINING_LOG).read_text()
    assert class_archive.java_options(config) == ""
