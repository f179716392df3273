"""The benchmark's measurements, each on the benchmark's own stack (bench/stack.py).

throughput  preload a fresh topic, time a fresh processor draining it; Kafka's own consumer
            perf tool and the naive Spark query (bench/naive.py) read the same topic for comparison
latency     the running stack at several loads (the REST source alone, then with steady input
            added): per-message latency from the processor's message_latency records, the
            per-row-update lower bound, the processor's CPU and its micro-batch durations
producer    the publish path alone (synthetic prices, no HTTP), and the REST producer's
            requests per poll and Binance weight per minute against the simulated exchange
"""
from __future__ import annotations

import csv
import dataclasses
import io
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import requests

from cryptostream.core import events
from cryptostream.bench import load
from cryptostream.bench.measure import (LatencyProbe, ResourceSampler, batch_durations, batch_events, drain_rate,
                                        message_latency)
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
NAIVE_TIMEOUT = 1800  # seconds the naive query may take to drain the topic
SETTLE_S = 20  # after the pipeline starts: the processor's start-up and first batches are not steady
LAST_BATCHES_S = 5  # after a load stops: its last messages are committed


def with_topic(config: Config, topic: str) -> Config:
    return dataclasses.replace(config, kafka=dataclasses.replace(config.kafka, topic=topic))


def prepare_topic(stack: OwnStack, messages: int, extra: int, say: Say) -> tuple[str, tuple[str, ...], float]:
    """A fresh topic holding `messages` synthetic prices; (topic, symbols, preload msgs/s)."""
    config = stack.config
    stack.ctl("stop", "pipeline:*")  # the preload's rate is the client's, not shared with an idle processor
    topic = f"bench_{int(time.time())}"
    symbols = config.exchange.symbols + load.extra_symbols(extra)
    ensure_topic(with_topic(config, topic))
    say(f"preloading {messages:,} messages ({len(symbols)} symbols) into {topic}")
    seconds = load.preload(config, topic, messages, symbols,
                           progress=lambda sent: sent and say(f"  {sent:,} sent"))
    return topic, symbols, messages / seconds


def throughput(stack: OwnStack, topic: str, symbols: tuple[str, ...], messages: int, run: int,
               folder: Path, verify: bool, trigger: float, say: Say) -> dict[str, Any]:
    """A fresh processor (own query name, checkpoint and empty tables) drains the topic, with
    the stack's own producer and processor stopped, so nothing else writes or competes; then the
    naive query, with the same settings (`trigger`, seconds: both queries' trigger interval)."""
    stack.ctl("stop", "pipeline:*")
    provisioning.empty_tables(stack.config)
    # the source only matters to the producer (not run here), but the REST one allows 100 symbols
    settings = {"kafka_topic": topic, "processor_query_name": f"{topic}_run{run}", "exchange_source": "websocket",
                "exchange_symbols": ",".join(symbols), "metrics_processor_port": str(free_port()),
                "processor_trigger_interval": f"{trigger}s"}
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
    result["naive_query"] = naive_query(stack, settings, messages, folder / f"naive-{topic}-run{run}", say)
    naive = result["naive_query"].get("msgs_per_s")
    result["ratio_to_naive_query"] = round(rate / naive, 3) if rate and naive else None
    busy, naive_busy = result["processor"].get("msgs_per_batch_s"), result["naive_query"].get("msgs_per_batch_s")
    result["batch_time_ratio_to_naive_query"] = round(busy / naive_busy, 3) if busy and naive_busy else None
    if verify:
        account = reconcile(config)
        result["reconcile"] = {"exact": account.exact, "messages": account.messages, "windows": account.windows,
                               "problems": account.problems[:10]}
    return result


def naive_query(stack: OwnStack, settings: dict[str, str], messages: int, base: Path, say: Say) -> dict[str, Any]:
    """The naive Spark query (bench/naive.py) drains the same topic in a process of its own,
    with the processor's Spark settings; timed from its batch lines as the processor is."""
    checkpoint, log = base.with_name(base.name + "-checkpoint"), base.with_suffix(".log")
    command = [sys.executable, "-m", "cryptostream.bench.naive", "--messages", str(messages),
               "--checkpoint", str(checkpoint), "--timeout", str(NAIVE_TIMEOUT)]
    process = stack.spawn(command, log, **settings)
    with ResourceSampler(lambda: {"naive_query": process.pid}) as sampler:
        try:
            process.wait(NAIVE_TIMEOUT + 120)  # it stops by itself after NAIVE_TIMEOUT
        except subprocess.TimeoutExpired:
            pass
        finally:
            stop(process)
    shutil.rmtree(checkpoint, ignore_errors=True)
    figures = drain_rate(batch_events(log), messages)
    say(f"  naive query: {figures.get('msgs_per_s')} msgs/s (exit {process.returncode}; log {log})")
    cpu = sampler.report().get("cpu_percent", {}).get("naive_query")
    return {**figures, "exit": process.returncode, "cpu_percent": cpu}


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


def latency(stack: OwnStack, minutes: float, loads: list[int], say: Say) -> dict[str, Any]:
    """The running stack (REST producer included) for `minutes` at each load: `loads` are the
    msgs/s added to the REST source's (0: the REST source alone)."""
    config = stack.config
    stack.ctl("start", "pipeline:*")
    time.sleep(SETTLE_S)
    requests_before = len(_sim_requests(config))
    polls_before = len(_polls(config))
    figures: dict[str, Any] = {"minutes": minutes, "loads": {}}
    for added in loads:
        say(f"latency: the REST source {f'plus {added} msgs/s' if added else 'alone'} for {minutes:g} min")
        figures["loads"][str(added)] = one_load(stack, minutes, added)
    polls = _polls(config)[polls_before:]
    weights = [p["used_weight_1m"] for p in polls if p.get("used_weight_1m") is not None]
    figures["stack_peak_rss_mib"] = max((f["resources"].get("stack_peak_rss_mib") or 0)
                                        for f in figures["loads"].values())
    figures["rest_producer"] = {
        "polls": len(polls), "weight_per_minute_max": max(weights, default=None),
        "requests_per_poll": round((len(_sim_requests(config)) - requests_before) / max(1, len(polls)), 2)}
    return figures


def one_load(stack: OwnStack, minutes: float, added: int) -> dict[str, Any]:
    """One load: per-message latency (the processor's records of the batches committed meanwhile),
    the per-row-update figure, the processor's CPU (its whole process tree) and batch durations."""
    config = stack.config
    sent, halt = [0], threading.Event()
    since = _utc_now()
    with ResourceSampler(stack.pids) as sampler, LatencyProbe(config) as probe:
        until = time.monotonic() + minutes * 60
        if added:
            load.steady(config, added, until, sent, halt, source="bench")
        else:
            time.sleep(minutes * 60)
    ended = _utc_now()
    time.sleep(LAST_BATCHES_S)
    resources = sampler.report()
    batches = batch_events(stack.home / "log" / f"{programs.PROCESSOR}.log")
    messages = message_latency(config, since, ended + timedelta(seconds=LAST_BATCHES_S))
    return {"added_msgs_per_s": added, "sent": sent[0], "messages_s": messages,
            "counted_msgs_per_s": round(messages["messages"] / (ended - since).total_seconds(), 1),
            "row_update_lower_bound_s": probe.report(),
            "processor_cpu_percent": resources.get("cpu_percent", {}).get(programs.PROCESSOR),
            "batch_s": batch_durations(batches, since, ended), "resources": resources}


def _utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


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
    # slices no faster than the buffer empties: a full buffer drops its oldest message, and a
    # rate of what survived would not be the producer's
    step = min(10_000, config.producer.buffer_max_messages)
    for start in range(0, messages, step):
        while publisher.backlog + step > config.producer.buffer_max_messages:
            publisher.drain(wait=0.05)
        publisher.add(batch[start:start + step])
        publisher.drain(wait=0)
    while publisher.backlog:
        publisher.drain(wait=1.0)
    seconds = time.monotonic() - started
    publisher.close()
    return {"messages": publisher.published, "dropped": publisher.dropped,
            "msgs_per_s": round(publisher.published / seconds)}
