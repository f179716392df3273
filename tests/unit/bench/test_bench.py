"""bin/bench's arithmetic: drain rate from batch lines, medians across runs, the targets table.
(The benchmark itself runs on a real stack: bin/bench; its figures are in docs/PERFORMANCE.md.)"""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from types import SimpleNamespace

import pytest

from cryptostream.bench import cli, load, measure
from cryptostream.bench.measure import batch_events, drain_rate


def batch(stamp: str, rows: int, duration_ms: int, **fields) -> str:
    return json.dumps({"timestamp": stamp, "event": "batch", "input_rows": rows, "duration_ms": duration_ms,
                       **fields})


def test_drain_rate_spans_first_batch_start_to_last_batch_end(tmp_path) -> None:
    """300,000 messages from 10:00:00 (first batch began 1 s before its 10:00:01 line) to
    10:00:03 is 100,000 msgs/s; idle batches do not count."""
    log = tmp_path / "processor.log"
    log.write_text("\n".join(["not json", batch("2026-11-27T10:00:01Z", 100_000, 1000, driver_rows=6),
                              batch("2026-11-27T10:00:02Z", 150_000, 900, driver_rows=11, windows_written=10),
                              batch("2026-11-27T10:00:03Z", 50_000, 500, driver_rows=5, windows_written=5),
                              batch("2026-11-27T10:00:04Z", 0, 20, driver_rows=0)]) + "\n")
    figures = drain_rate(batch_events(log), 300_000)
    assert figures["msgs_per_s"] == 100_000
    assert figures["seconds"] == 3.0
    assert figures["batches"] == 3
    assert figures["msgs_per_batch_s"] == 125_000  # 300,000 messages in 2.4 s of batches
    assert figures["batch_s"]["p50"] == 0.9
    assert figures["rows_per_batch_max"] == 150_000
    assert figures["per_batch"] == {"messages": {"p50": 100_000, "max": 150_000}, "driver_rows": {"p50": 6, "max": 11},
                                    "mysql_windows": {"p50": 7.5, "max": 10}}  # a batch that logged none left out


def test_medians_of_nested_figures_and_the_table() -> None:
    """Every number is the median of its place across runs; the table marks missed targets."""
    runs = [{"throughput": {"processor": {"msgs_per_s": v}, "ratio_to_raw_consumer": r},
             "latency": {"loads": {"0": {"messages_s": {"p50": p}}}}}
            for v, r, p in ((90_000, 0.2, 0.4), (120_000, 0.3, 0.5), (110_000, 0.4, 2.5))]
    medians = cli.medians(runs)
    assert medians["throughput"]["processor"]["msgs_per_s"] == 110_000
    assert medians["latency"]["loads"]["0"]["messages_s"]["p50"] == 0.5
    report = {"medians": medians, "runs": runs, "machine": {"cores": 2, "ram_gib": 23.4, "python_loop_s": 1.31},
              "args": {"loads": [0]}}
    lines = {line.split("  ")[0]: line for line in cli.table(report).splitlines()}
    assert lines["processor msgs/s (drain)"].endswith("yes")
    assert "110,000" in lines["processor msgs/s (drain)"]
    assert lines["[REST alone] latency p50 s"].rstrip().endswith("yes")
    assert "a Python loop of 20 M additions: 1.31 s; medians of 3 run(s)" in cli.table(report)


def test_each_load_has_its_latency_cpu_and_batch_rows() -> None:
    """Latency targets at every load; CPU 25 % alone, 40 % at +100/s, none above; small batches
    (<= +100/s) 0.3 s."""
    rows = {name: (path, target) for name, path, target, _ in cli.latency_targets([0, 100, 1000])}
    assert rows["[REST +1000/s] latency p99 s"] == ("latency.loads.1000.messages_s.p99", 2.0)
    assert rows["[REST alone] processor CPU % of a core"][1] == 25
    assert rows["[REST +100/s] processor CPU % of a core"][1] == 40
    assert rows["[REST +1000/s] processor CPU % of a core"][1] is None
    assert rows["[REST +100/s] micro-batch p50 s"][1] == 0.3
    assert rows["[REST +1000/s] micro-batch p50 s"][1] is None


def test_the_per_row_figure_is_labelled_a_lower_bound() -> None:
    names = [name for name, *_ in cli.latency_targets([0])]
    assert "[REST alone] row-update p50 s (lower bd)" in names


def test_a_load_out_of_bounds_is_refused() -> None:
    with pytest.raises(SystemExit):
        cli.main(["--loads", "0,100000"])


@pytest.mark.parametrize("seconds", ["0", "0.001", "61"])
def test_a_drain_trigger_out_of_bounds_is_refused(seconds) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--drain-trigger", seconds])


def test_batch_durations_of_an_interval_leave_out_idle_and_other_batches() -> None:
    events = [json.loads(batch(f"2026-11-27T10:00:0{i}Z", rows, ms))
              for i, rows, ms in ((1, 5, 900), (2, 0, 50), (3, 5, 700), (4, 5, 800), (8, 5, 100))]
    figures = measure.batch_durations(events, datetime(2026, 11, 27, 10, 0, 0), datetime(2026, 11, 27, 10, 0, 5))
    assert figures["batches"] == 3
    assert figures["p50"] == 0.8


def test_extra_symbols_are_valid_symbols() -> None:
    from cryptostream.pipeline.schema import symbol_problem
    extra = load.extra_symbols(3)
    assert extra == ("X001USDT", "X002USDT", "X003USDT")
    assert all(symbol_problem(s, extra) is None for s in extra)


class _Producer:
    """Stands in for KafkaProducer: counts what would be sent."""

    def __init__(self) -> None:
        self.sent = 0

    def send(self, *_args, **_kwargs) -> None:
        self.sent += 1

    def flush(self) -> None:
        return

    def close(self) -> None:
        return


def test_steady_keeps_a_rate_below_ten_a_second(monkeypatch) -> None:
    """5 msgs/s for 2 s sends about 10 messages, not one per tenth of a second (20)."""
    producer = _Producer()
    monkeypatch.setattr(load, "_producer", lambda config, **tuning: producer)
    config = SimpleNamespace(exchange=SimpleNamespace(symbols=("BTCUSDT", "ETHUSDT")),
                             kafka=SimpleNamespace(topic="t"))
    sent = [0]
    load.steady(config, 5, time.monotonic() + 2.0, sent, threading.Event())
    assert 9 <= sent[0] <= 11
    assert producer.sent == sent[0]
