"""The benchmark's measurements, each on the benchmark's own stack (bench/stack.py).

throughput  preload a fresh topic, time a fresh processor draining it; Kafka's own consumer
            perf tool reads the same topic for comparison
latency     a steady input rate through the running stack; per row update, MySQL's
            updated_at minus the newest ingest_time it includes
producer    the publish path alone (synthetic prices, no HTTP), and the REST producer's
            requests per poll and Binance weight per minute against the simulated exchange
"""
from __future__ import annotations

import csv
import dataclasses
import io
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable

import requests

from cryptostream.core import events
from cryptostream.bench import load
from cryptostream.bench.measure import LatencyProbe, ResourceSampler, batch_events, drain_rate
from cryptostream.bench.stack import OwnStack
from cryptostream.core.config import Config
from cryptostream.ops import programs
from cryptostream.ops.stack import provisioning
from cryptostream.ops.deployment import NativeDeployment
from cryptostream.ops.health.probes.log_events import events_named
from cryptostream.ops.reconcile import reconcile, wait_processed
from cryptostream.core.ports import free_port
from cryptostream.pipeline.producer.publisher import Publisher
from cryptostream.pipeline.topic import end_offsets, ensure_topic
from cryptostream.pipeline.schema import PriceMessage
from cryptostream.services.java import kafka_command

Say = Callable[[str], None]


def with_topic(config: Config, topic: str) -> Config:
    return dataclasses.replace(config, kafka=dataclasses.replace(config.kafka, topic=topic))


def prepare_topic(stack: OwnStack, messages: int, extra: int, say: Say) -> tuple[str, tuple[str, ...], float]:
    """A fresh topic holding `messages` synthetic prices; (topic, symbols, preload msgs/s)."""
    config = stack.config
    topic = f"bench_{int(time.time())}"
    symbols = config.exchange.symbols + load.extra_symbols(extra)
    ensure_topic(with_topic(config, topic))
    say(f"preloading {messages:,} messages ({len(symbols)} symbols) into {topic}")
    seconds = load.preload(config, topic, messages, symbols,
                           progress=lambda sent: sent and say(f"  {sent:,} sent"))
    return topic, symbols, messages / seconds


def throughput(stack: OwnStack, topic: str, symbols: tuple[str, ...], messages: int, run: int,
               folder: Path, verify: bool, say: Say) -> dict[str, Any]:
    """A fresh processor (own query name, checkpoint and empty tables) drains the topic, with
    the stack's own producer and processor stopped, so nothing else writes or competes."""
    stack.ctl("stop", "pipeline:*")
    provisioning.empty_tables(stack.config)
    settings = {"kafka_topic": topic, "processor_query_name": f"{topic}_run{run}",
                "exchange_symbols": ",".join(symbols), "metrics_processor_port": str(free_port())}
    config = stack.configured(**settings)
    ends = end_offsets(config)
    log = folder / f"processor-{topic}-run{run}.log"
    process = stack.processor(log, **settings)
    kafka_pid = stack.pids().get("kafka", 0)
    with ResourceSampler(lambda: {"processor": process.pid, "kafka": kafka_pid}) as sampler:
        started = time.monotonic()
        try:
            wait_processed(config, ends, timeout=max(600.0, messages / 5_000), interval=0.5,
                           alive=lambda: process.poll() is None)
        finally:
            stop(process)
    say(f"  run {run}: drained in {time.monotonic() - started:.0f}s (processor start included)")
    result = {"processor": drain_rate(batch_events(log), messages), "resources": sampler.report()}
    result["raw_consumer"] = consumer_perf(config, messages)
    rate, raw = result["processor"].get("msgs_per_s"), result["raw_consumer"].get("fetch_msgs_per_s")
    result["ratio_to_raw_consumer"] = round(rate / raw, 3) if rate and raw else None
    if verify:
        account = reconcile(config)
        result["reconcile"] = {"exact": account.exact, "messages": account.messages, "windows": account.windows,
                               "problems": account.problems[:10]}
    return result


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def consumer_perf(config: Config, messages: int) -> dict[str, Any]:
    """Kafka's own consumer (kafka-consumer-perf-test's class) reading the same topic."""
    args = ["--bootstrap-server", config.kafka.bootstrap_servers, "--topic", config.kafka.topic,
            "--num-records", str(messages), "--timeout", "120000", "--group", f"bench-{time.time_ns()}"]
    command = kafka_command(config, "org.apache.kafka.tools.ConsumerPerformance", args, "consumer-perf",
                            heap="1g", log_level="warn", log_to_stderr=True)
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    rows = list(csv.reader(io.StringIO(result.stdout.strip()), skipinitialspace=True))
    if result.returncode != 0 or len(rows) < 2:
        return {"error": (result.stderr or result.stdout)[-500:]}
    stats = dict(zip(rows[0], rows[1]))
    return {"msgs": int(stats["data.consumed.in.nMsg"]), "msgs_per_s": round(float(stats["nMsg.sec"])),
            "fetch_msgs_per_s": round(float(stats["fetch.nMsg.sec"])), "mb_per_s": round(float(stats["MB.sec"]), 1)}


def latency(stack: OwnStack, minutes: float, rate: int, say: Say) -> dict[str, Any]:
    """The running stack (REST producer included) plus `rate` messages a second."""
    config = stack.config
    stack.ctl("start", "pipeline:*")
    time.sleep(20)  # the processor's start-up and first batches are not steady state
    requests_before = len(_sim_requests(config))
    polls_before = len(_polls(config))
    sent, halt = [0], threading.Event()
    say(f"latency: {rate} msgs/s for {minutes:g} min")
    with ResourceSampler(stack.pids) as sampler, LatencyProbe(config) as probe:
        load.steady(config, rate, time.monotonic() + minutes * 60, sent, halt, source="bench")
        time.sleep(5)  # the last batches
    polls = _polls(config)[polls_before:]
    weights = [p["used_weight_1m"] for p in polls if p.get("used_weight_1m") is not None]
    return {"rate": rate, "minutes": minutes, "sent": sent[0], "latency_s": probe.report(),
            "resources": sampler.report(),
            "rest_producer": {"polls": len(polls),
                              "requests_per_poll": round((len(_sim_requests(config)) - requests_before) / max(1, len(polls)), 2),
                              "weight_per_minute_max": max(weights, default=None)}}


def _sim_requests(config: Config) -> list[dict]:
    return requests.get(f"http://127.0.0.1:{config.simulator.port}/sim/requests", timeout=10).json()


def _polls(config: Config) -> list[dict]:
    return events_named(NativeDeployment(config), programs.PRODUCER, {events.POLL}, 24)


def publish_path(stack: OwnStack, messages: int, say: Say) -> dict[str, Any]:
    """The producer's Publisher alone: synthetic prices, acks=all, idempotent, as configured."""
    config = with_topic(stack.config, f"bench_publish_{int(time.time())}")
    publisher = Publisher(config)
    symbols = config.exchange.symbols
    say(f"producer path: publishing {messages:,} messages")
    now_ms = int(time.time() * 1000) - messages
    batch = [PriceMessage(symbols[i % len(symbols)], "100.00000000", now_ms + i, now_ms + i, "bench")
             for i in range(messages)]
    publisher.drain()  # connect and create the topic before the clock starts
    started = time.monotonic()
    for start in range(0, messages, 10_000):
        publisher.add(batch[start:start + 10_000])
        publisher.drain(wait=0)
    while publisher.backlog:
        publisher.drain(wait=1.0)
    seconds = time.monotonic() - started
    publisher.close()
    return {"messages": publisher.published, "msgs_per_s": round(publisher.published / seconds)}
