"""The class archive's training run (class_archive.py names and uses the archive): the
processor's own session with -XX:ArchiveClassesAtExit, through the work of a batch, in a
process of its own; the JVM writes the archive as it exits, and only a complete one is renamed
into place."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from cryptostream.core.config import Config
from cryptostream.pipeline.processor import class_archive

TRAINING_TIMEOUT_S = 600
KEPT = 3  # archives kept in the jars folder
TRAINING_LOG = "training.log"  # the last failed recording
MODULE = "cryptostream.pipeline.processor.archive_training"  # __name__ is __main__ when run with -m


def build(config: Config, say=print) -> Path | None:
    """Record the archive unless the one for this JVM and these jars is there. A failed
    recording is said and logged, not fatal: the processor then starts without it, slower."""
    archive = class_archive.archive_path(config)
    if archive.is_file():
        return archive
    say(f"recording the processor's classes into {archive} (once, about 45 s: each start is ~6 s faster)")
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(f"{archive.name}.{os.getpid()}.partial")
    try:
        done = subprocess.run([sys.executable, "-m", MODULE, "--train", str(partial)], capture_output=True, text=True,
                              timeout=TRAINING_TIMEOUT_S)
        if done.returncode == 0 and partial.is_file():
            partial.chmod(0o644)  # the processor runs as the service user
            partial.rename(archive)
        else:
            log = archive.parent / TRAINING_LOG
            log.write_text(f"exit {done.returncode}\n{done.stdout}\n{done.stderr}")
            say(f"could not record the class archive (exit {done.returncode}; {log}): the processor starts "
                "without it, about 6 s slower")
            return None
    finally:
        partial.unlink(missing_ok=True)
    class_archive.keep_newest(archive.parent, KEPT)
    return archive


def _train(partial: Path) -> None:
    """The processor's session with -XX:ArchiveClassesAtExit, through the work of a batch: a
    micro-batch query over a file (the streaming engine, the checkpoint's file system), the
    Java pass and the Spark SQL summary. The JVM writes the archive as it exits."""
    from cryptostream.core.config import load
    from cryptostream.pipeline.processor import classify, jvm_pass
    from cryptostream.pipeline.processor.session import build_session
    from cryptostream.pipeline.schema.message import PriceMessage
    config = load()
    spark = build_session(config, archive_options=f"-XX:ArchiveClassesAtExit={partial}")
    now_ms = 1_700_000_000_000
    values = [PriceMessage(symbol, "100.5", now_ms, now_ms, "training").to_json() for symbol in config.exchange.symbols]
    stamp = datetime.fromtimestamp(now_ms / 1000, tz=timezone.utc)
    rows = [("crypto_prices", 0, offset, b"k", bytearray(value), stamp) for offset, value in enumerate([*values, b"{"])]
    frame = spark.createDataFrame(rows, "topic string, partition int, offset long, key binary, value binary, "
                                        "timestamp timestamp")
    rules = classify.Rules(config.exchange.symbols, 60_000, 300_000, classify.NO_WATERMARK, now_ms)
    jvm_pass.summarise(frame, rules).collect()
    classify.summarise(classify.classify(frame, rules), rules).collect()
    with tempfile.TemporaryDirectory(prefix="cryptostream-cds-") as work:
        (Path(work) / "in").mkdir()
        (Path(work) / "in" / "a.txt").write_text("training\n")
        query = (spark.readStream.format("text").load(f"{work}/in").writeStream
                 .foreachBatch(lambda batch, _id: batch.count())
                 .option("checkpointLocation", f"{work}/checkpoint").trigger(availableNow=True).start())
        query.awaitTermination(TRAINING_TIMEOUT_S)
    spark.stop()


if __name__ == "__main__":  # --train PATH: the run build() starts; no arguments: build (the app image)
    if sys.argv[1:2] == ["--train"]:
        _train(Path(sys.argv[2]))
    else:
        from cryptostream.core.config import load
        sys.exit(0 if build(load()) else 1)  # an image without it is a failed build
