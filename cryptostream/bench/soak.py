"""bin/soak --minutes N --rate R: drive the running native stack for N minutes with R extra
price messages a second (valid ones, straight into Kafka, 127.0.0.1 only), sample each
program's memory and the lag as it goes, then let the processor drain and reconcile.

Bounded: it stops by itself after N minutes (at most 24 h) and R is capped at 20,000 msgs/s
and by the symbols (bench/load.py: at most one price per symbol and millisecond).
Writes var/soak/soak-<time>.json and prints a summary; exit 0 only if the account is exact.
"""
from __future__ import annotations

import argparse
import json
import threading
import time
from datetime import datetime, timezone

from cryptostream.core import config as config_module
from cryptostream.bench import load
from cryptostream.core.config import Config
from cryptostream.ops.deployment import NativeDeployment
from cryptostream.ops.deployment.processes import process_tree_usage
from cryptostream.ops.reconcile import processed_offsets, reconcile, wait_processed
from cryptostream.ops import cli
from cryptostream.pipeline import topic

MAX_MINUTES = 24 * 60
MAX_RATE = 20_000
SAMPLE_EVERY = 10.0


def sample(config: Config, started: float) -> dict:
    """Memory (RSS with children) of every program and the lag, now."""
    ends = topic.end_offsets(config)
    done = processed_offsets(config)
    memory = {name: process_tree_usage(info["pid"])[0] // 2**20
              for name, info in NativeDeployment(config).program_states().items() if info["pid"]}
    return {"seconds": round(time.monotonic() - started), "rss_mib": memory,
            "lag": sum(max(0, end - done.get(p, 0)) for p, end in ends.items())}


def soak(config: Config, minutes: float, rate: int, say=print) -> dict:
    started = time.monotonic()
    sent, stop = [0], threading.Event()
    sender = threading.Thread(target=load.steady, args=(config, rate, started + minutes * 60, sent, stop), daemon=True)
    sender.start()
    samples = []
    try:
        while sender.is_alive():
            sender.join(SAMPLE_EVERY)
            samples.append(sample(config, started))
            say(f"{samples[-1]['seconds']:>6}s  sent {sent[0]:>9}  lag {samples[-1]['lag']:>7}  "
                f"rss MiB {samples[-1]['rss_mib']}")
    finally:
        stop.set()
    drained_in = drain(config, timeout=600)
    account = reconcile(config)
    return {"minutes": minutes, "rate": rate, "sent": sent[0], "samples": samples,
            "peak_rss_mib": {name: max(s["rss_mib"].get(name, 0) for s in samples) for name in samples[-1]["rss_mib"]},
            "max_lag": max(s["lag"] for s in samples), "drained_in_s": drained_in,
            "reconcile": {"exact": account.exact, "messages": account.messages, "windows": account.windows,
                          "problems": account.problems[:20]}}


def drain(config: Config, timeout: float) -> float:
    """Seconds until the processor has applied everything the topic held when the load stopped
    (the producer keeps publishing, so the end itself moves on)."""
    return wait_processed(config, topic.end_offsets(config), timeout)


@cli.command()
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="soak", description="Bounded load on the running stack, then reconcile.")
    parser.add_argument("--minutes", type=float, default=5, help=f"how long (default 5, at most {MAX_MINUTES})")
    parser.add_argument("--rate", type=int, default=1000, help=f"extra messages a second (default 1000, at most {MAX_RATE})")
    args = parser.parse_args(argv)
    config = config_module.load()
    max_rate = min(MAX_RATE, load.MAX_PER_SYMBOL_PER_S * len(config.exchange.symbols) // 2)  # random symbols: room for bursts
    if not 0 < args.minutes <= MAX_MINUTES or not 0 < args.rate <= max_rate:
        parser.error(f"--minutes must be in (0, {MAX_MINUTES}] and --rate in (0, {max_rate}] "
                     f"({len(config.exchange.symbols)} symbols, one price per symbol and millisecond)")
    result = soak(config, args.minutes, args.rate)
    folder = config.var_dir / "soak"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"soak-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"sent {result['sent']} in {args.minutes:g} min at {args.rate}/s; max lag {result['max_lag']}; "
          f"drained in {result['drained_in_s']}s; peak RSS MiB {result['peak_rss_mib']}; "
          f"reconcile {'exact' if result['reconcile']['exact'] else 'NOT EXACT'} "
          f"({result['reconcile']['messages']} messages, {result['reconcile']['windows']} windows)\n{path}")
    return 0 if result["reconcile"]["exact"] else 2
