"""The native deployment reads var/ of this machine: log files oldest first, supervisord's
unexpected exits, the Spark checkpoint (through checkpoint_offsets)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from cryptostream.core.config import load
from cryptostream.ops.deployment import NativeDeployment
from cryptostream.ops.health.probes.checkpoint import checkpoint_offsets


def deployment(tmp_path) -> NativeDeployment:
    return NativeDeployment(load(env={"CRYPTOSTREAM_HOME": str(tmp_path)}))


def test_log_lines_come_oldest_file_first(tmp_path) -> None:
    """producer.log.2 (oldest), .log.1, then the current file."""
    (tmp_path / "log").mkdir()
    for name, text in (("producer.log", "c"), ("producer.log.1", "b"), ("producer.log.2", "a"),
                       ("producer.log.bak", "x")):
        (tmp_path / "log" / name).write_text(text + "\n")
    assert list(deployment(tmp_path).log_lines("producer", 24)) == ["a", "b", "c"]


def test_unexpected_exits_count_only_recent_deaths_not_stops(tmp_path) -> None:
    (tmp_path / "log").mkdir()
    recent, old = datetime.now() - timedelta(minutes=5), datetime.now() - timedelta(hours=30)
    lines = [f"{old:%Y-%m-%d %H:%M:%S},1 WARN exited: processor (exit status 1; not expected)",
             f"{recent:%Y-%m-%d %H:%M:%S},1 WARN exited: processor (exit status 1; not expected)",
             f"{recent:%Y-%m-%d %H:%M:%S},2 INFO exited: producer (exit status 0; expected)"]
    (tmp_path / "log" / "supervisord.log").write_text("\n".join(lines) + "\n")
    assert deployment(tmp_path).unexpected_exits(24) == {"processor": 1}


def test_checkpoint_offsets_of_the_newest_committed_batch(tmp_path) -> None:
    """Batch 3 has offsets but no commit yet: batch 2's offsets are the processor's position."""
    native = deployment(tmp_path)
    folder = native.config.checkpoint_dir
    (folder / "commits").mkdir(parents=True)
    (folder / "offsets").mkdir()
    topic = native.config.kafka.topic
    for batch in (1, 2, 3):
        (folder / "offsets" / str(batch)).write_text(f'v1\n{{}}\n{json.dumps({topic: {"0": batch * 10, "1": 5}})}\n')
    for batch in (1, 2):
        (folder / "commits" / str(batch)).write_text("v1\n{}\n")
    assert checkpoint_offsets(native) == (2, {0: 20, 1: 5})


def test_no_checkpoint_yet(tmp_path) -> None:
    assert checkpoint_offsets(deployment(tmp_path)) is None


def test_set_checkpoint_aside_renames_it(tmp_path) -> None:
    native = deployment(tmp_path)
    assert native.set_checkpoint_aside(".old") is None
    native.config.checkpoint_dir.mkdir(parents=True)
    aside = native.set_checkpoint_aside(".old")
    assert aside == str(native.config.checkpoint_dir) + ".old"
    assert not native.config.checkpoint_dir.exists()
