"""Spark 4.2's Real-time Mode for the processor's stateless part, measured (docs/PERFORMANCE.md,
"Real-time Mode"): not a processor mode, an experiment that answers whether one is worth building.

The query reads Kafka, parses and classifies every message with the processor's own rules
(classify.py, no watermark: it would be the sink's), and hands each row to a ForeachWriter, the
only sink of ours Real-time Mode allows. The writer applies each message exactly once in a MySQL
transaction of its own, keyed by its Kafka position (a replayed epoch finds its messages applied
and skips them), and records when it committed. Per-message latency = commit time minus the
message's ingest_time. The same query with a processing-time trigger is measured beside it.

    python -m cryptostream.bench.realtime --rate 5 --seconds 60   # own Kafka and MariaDB, free ports
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from cryptostream.bench import load
from cryptostream.bench.measure import ResourceSampler, percentiles
from cryptostream.bench.phases import with_topic
from cryptostream.bench.stack import OwnStack
from cryptostream.core import db
from cryptostream.core.config import Config, load as load_config
from cryptostream.core.polling import wait_for
from cryptostream.core.ports import port_open
from cryptostream.ops.deployment.processes import process_tree_usage
from cryptostream.ops.stack import provisioning, secrets
from cryptostream.pipeline.topic import ensure_topic

SQL = "realtime_experiment"  # sql/realtime_experiment.sql


class ExactlyOnceRowWriter:
    """A ForeachWriter: each row in its own transaction, skipped when its Kafka position is
    below the partition's stored next offset (an epoch replayed after a failure)."""

    def open(self, partition_id: int, epoch_id: int) -> bool:
        self.epoch = epoch_id
        self.sql = db.named_statements(SQL)
        self.connection = db.connect(load_config(), admin=True)
        return True

    def process(self, row: Any) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(self.sql["lock_offset"], (row.topic, row.partition))
            if row.offset < cursor.fetchone()[0]:
                self.connection.rollback()
                return
            cursor.execute(self.sql["insert_applied"], (row.topic, row.partition, row.offset, row.reason,
                                                        row.ingest_ms, int(time.time() * 1000), self.epoch))
            cursor.execute(self.sql["save_offset"], (row.offset + 1, row.topic, row.partition))
        self.connection.commit()

    def close(self, error: Any) -> None:
        self.connection.close()


def start_query(spark: Any, config: Config, mode: str, checkpoint: Path, epoch_s: float) -> Any:
    """Kafka -> classify (no watermark) -> ExactlyOnceRowWriter, in Real-time Mode or micro-batches."""
    from pyspark.sql import functions as F

    from cryptostream.pipeline.processor import classify
    rules = classify.Rules(config.exchange.symbols, int(config.processor.window * 1000),
                           int(config.processor.max_future_skew * 1000), classify.NO_WATERMARK)
    rows = (spark.readStream.format("kafka").option("kafka.bootstrap.servers", config.kafka.bootstrap_servers)
            .option("subscribe", config.kafka.topic).option("startingOffsets", "earliest")
            .option("kafka.fetch.max.wait.ms", str(round(config.processor.fetch_max_wait * 1000))).load())
    out = classify.classify(rows, rules).select("topic", "partition", "offset", "reason",
                                                F.col("m.ingest_time").alias("ingest_ms"))
    writer = out.writeStream.foreach(ExactlyOnceRowWriter()).outputMode("update")
    trigger = {"realTime": f"{round(epoch_s * 1000)} milliseconds"} if mode == "realtime" else \
        {"processingTime": "1 second"}
    return writer.trigger(**trigger).option("checkpointLocation", str(checkpoint)).start()


def session(config: Config, slots: int, epoch_s: float, conf: dict[str, str]) -> Any:
    """A local session with `slots` task threads: Real-time Mode runs every partition's task at
    once, for the whole epoch, so it needs a slot per Kafka partition."""
    from pyspark.sql import SparkSession
    from cryptostream.pipeline.processor.classpath import spark_jars
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # driver, block manager: loopback only
    return (SparkSession.builder.master(f"local[{slots}]").appName("cryptostream-realtime-experiment")
            .config("spark.jars", ",".join(spark_jars(config))).config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC").config("spark.sql.shuffle.partitions", "1")
            .config("spark.sql.streaming.realTimeMode.minBatchDuration", str(round(epoch_s * 1000)))
            .config(map=conf).getOrCreate())


def measure(config: Config, spark: Any, mode: str, rate: int, seconds: float, folder: Path,
            servers: list[int], epoch_s: float) -> dict[str, Any]:
    """One query of `mode` fed `rate` msgs/s for `seconds` after a 20 s warm-up: latency of the
    messages sent after it, and the CPU of this process tree less the servers'."""
    topic = f"rt_{mode}_{time.time_ns()}"
    config = with_topic(config, topic)
    ensure_topic(config)
    # a row per partition before any writer: FOR UPDATE on a missing row would take gap locks,
    # on which the partitions' writers deadlock
    db.run_committed(db.connect(config, admin=True), lambda cursor: cursor.executemany(
        db.named_statements(SQL)["seed_offset"], [(topic, p) for p in range(config.kafka.partitions)]))
    query = start_query(spark, config, mode, folder / "checkpoints" / topic, epoch_s)
    sent, halt = [0], threading.Event()
    feeder = threading.Thread(target=load.steady, args=(config, rate, time.monotonic() + seconds + 25, sent, halt),
                              kwargs={"source": "bench"}, daemon=True)
    feeder.start()
    time.sleep(20)
    since_ms = int(time.time() * 1000)
    own = os.getpid()
    with ResourceSampler(lambda: {"query": own}, usage=lambda pid: _usage_without(pid, servers)) as sampler:
        time.sleep(seconds)
    feeder.join()
    time.sleep(3)
    query.stop()
    latencies, epochs = _latencies(config, topic, since_ms)
    return {"mode": mode, "epoch_s": epoch_s if mode == "realtime" else None, "rate": rate, "seconds": seconds, "sent": sent[0], "applied": len(latencies),
            "epochs": epochs, "latency_ms": {k: v and round(v) for k, v in
                                             percentiles(latencies, (0.5, 0.95, 0.99, 1.0)).items()},
            "cpu_percent": sampler.report().get("cpu_percent", {}).get("query")}


def _usage_without(pid: int, servers: list[int]) -> tuple[int, float]:
    rss, cpu = process_tree_usage(pid)
    for server in servers:
        server_rss, server_cpu = process_tree_usage(server)
        rss, cpu = rss - server_rss, cpu - server_cpu
    return rss, cpu


def _latencies(config: Config, topic: str, since_ms: int) -> tuple[list[float], int]:
    connection = db.connect(config, admin=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute(db.named_statements(SQL)["latencies"], (topic, since_ms))
            rows = cursor.fetchall()
    finally:
        connection.close()
    return [float(r[0]) for r in rows], len({r[1] for r in rows})


def _servers(stack: OwnStack) -> list[subprocess.Popen]:
    """MariaDB and Kafka of the experiment's own, on the stack's free ports."""
    bin_dir = Path(sys.executable).parent
    started = []
    for name in ("cryptostream-mysqld", "cryptostream-kafka"):
        with open(stack.home / f"{name}.log", "wb") as out:
            started.append(subprocess.Popen([str(bin_dir / name)], env=stack.env, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True))
    config = stack.config
    wait_for("MariaDB", lambda: port_open(config.mysql.port), 90, interval=0.5)
    wait_for("Kafka", lambda: port_open(config.kafka.port), 120, interval=0.5)
    return started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cryptostream.bench.realtime")
    parser.add_argument("--rate", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--modes", default="realtime,microbatch")
    parser.add_argument("--folder", type=Path, default=Path("var/bench/realtime"))
    parser.add_argument("--epoch-seconds", type=float, default=5.0, help="Real-time Mode's batch (checkpoint) duration")
    parser.add_argument("--conf", action="append", default=[], help="KEY=VALUE Spark setting, repeatable")
    args = parser.parse_args(argv)
    if not (1 <= args.rate <= 1000 and 10 <= args.seconds <= 600 and 0.1 <= args.epoch_seconds <= 300):
        parser.error("out of bounds: rate 1-1,000 msgs/s, seconds 10-600, epoch 0.1-300 s")
    stack = OwnStack(args.folder.resolve() / f"home-{time.time_ns()}")
    secrets.ensure(stack.config)
    servers = _servers(stack)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # the finally below stops the servers
    try:
        config = stack.config
        provisioning.bootstrap(config)
        statements = db.named_statements(SQL)
        db.run_committed(db.connect(config, admin=True),
                         lambda cursor: [cursor.execute(statements[name]) for name in ("create_applied", "create_offsets")])
        os.environ.update(stack.env)  # the writers (Python workers) load the same configuration
        os.environ["PYSPARK_PYTHON"] = sys.executable  # ... with this interpreter's packages
        spark = session(config, 4, args.epoch_seconds, dict(item.split("=", 1) for item in args.conf))
        for mode in args.modes.split(","):
            print(json.dumps(measure(config, spark, mode, args.rate, args.seconds, stack.home,
                                     [s.pid for s in servers], args.epoch_seconds)), flush=True)
        spark.stop()
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
