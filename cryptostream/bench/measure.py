"""What the benchmark measures: processes' memory and CPU (from /proc), the processor's per-batch
log lines, per-message latency from the processor's own records (message_latency), and row
latency as MySQL shows it."""
from __future__ import annotations

import json
import statistics
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from cryptostream.core import db, events
from cryptostream.core.config import Config
from cryptostream.ops.health.percentile import percentile
from cryptostream.ops.health.probes.log_events import time_of
from cryptostream.ops.deployment.processes import process_tree_usage
from cryptostream.pipeline.processor import latency


def percentiles(values: list[float], points: tuple[float, ...] = (0.5, 0.95, 0.99)) -> dict[str, float | None]:
    return {f"p{round(p * 100)}": percentile(values, p) for p in points}


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


class Background:
    """Calls `tick()` every `every` seconds in a thread, from `with` until its end."""

    def __init__(self, every: float) -> None:
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        self.tick()
        while not self._stop.wait(self.every):
            self.tick()
        self.close()

    def tick(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        return


class ResourceSampler(Background):
    """Samples RSS and CPU time of named processes (with their children, unless `usage` says
    otherwise); reports each one's peak RSS and average CPU use, and the whole set's peak RSS."""

    def __init__(self, pids: Callable[[], dict[str, int]], every: float = 1.0,
                 usage: Callable[[int], tuple[int, float]] = process_tree_usage) -> None:
        super().__init__(every)
        self.pids = pids
        self.usage = usage  # per pid: (RSS bytes, CPU seconds), of its tree by default
        self.samples: list[tuple[float, dict[str, tuple[int, float]]]] = []

    def tick(self) -> None:
        usage = {name: self.usage(pid) for name, pid in self.pids().items() if pid}
        self.samples.append((time.monotonic(), usage))

    def report(self) -> dict[str, Any]:
        if len(self.samples) < 2:
            return {}
        (t0, first), (t1, last) = self.samples[0], self.samples[-1]
        names = sorted({name for _, usage in self.samples for name in usage})
        peak = {n: max(u[n][0] for _, u in self.samples if n in u) // 2**20 for n in names}
        cpu = {n: round(100 * (last[n][1] - first[n][1]) / (t1 - t0), 1) for n in names if n in first and n in last}
        whole = max(sum(rss for rss, _ in usage.values()) for _, usage in self.samples) // 2**20
        return {"peak_rss_mib": peak, "cpu_percent": cpu, "stack_peak_rss_mib": whole}


def batch_events(log: Path) -> list[dict[str, Any]]:
    """The processor's per-batch JSON lines, in order."""
    return [json.loads(line) for line in log.read_text(errors="replace").splitlines()
            if line.startswith("{") and f'"event": "{events.BATCH}"' in line]


def drain_rate(batches: list[dict[str, Any]], messages: int) -> dict[str, Any]:
    """Messages per second from the first batch's start to the last batch's end; messages per
    second of micro-batch time (the trigger's waits between batches left out: a query whose
    batches end before the next trigger drains at the trigger's pace, however fast its work);
    the micro-batch duration percentiles (batches that read nothing left out)."""
    busy = [e for e in batches if e.get("input_rows")]
    if not busy:
        return {}
    start = _epoch(busy[0]) - busy[0]["duration_ms"] / 1000
    span = _epoch(busy[-1]) - start
    durations = [e["duration_ms"] / 1000 for e in busy]
    return {"msgs_per_s": round(messages / span), "seconds": round(span, 1), "batches": len(busy),
            "msgs_per_batch_s": round(sum(e["input_rows"] for e in busy) / sum(durations)),
            "batch_s": {k: v and round(v, 2) for k, v in percentiles(durations).items()},
            "rows_per_batch_max": max(e["input_rows"] for e in busy), "per_batch": _work_per_batch(busy)}


def _work_per_batch(busy: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and highest, over the batches, of the messages read and of what they cost the
    driver (rows Spark handed it) and MySQL (windows written; the dedup state is one row per
    window): the last two should follow the windows, not the messages."""
    fields = {"messages": "input_rows", "driver_rows": "driver_rows", "mysql_windows": "windows_written"}
    return {name: {"p50": median(values), "max": max(values)}
            for name, field in fields.items() if (values := [e[field] for e in busy if e.get(field) is not None])}


def batch_durations(batches: list[dict[str, Any]], since: datetime, until: datetime) -> dict[str, Any]:
    """Percentiles of the durations (s) of the micro-batches that read something and ended
    within [since, until] (naive UTC)."""
    durations = [e["duration_ms"] / 1000 for e in batches
                 if e.get("input_rows") and e.get("duration_ms") is not None
                 and since <= time_of(e).replace(tzinfo=None) <= until]
    return {"batches": len(durations), **{k: v and round(v, 3) for k, v in percentiles(durations).items()}}


def message_latency(config: Config, since: datetime, until: datetime) -> dict[str, Any]:
    """Per-message latency over every message the processor counted in the batches it committed
    within [since, until) (naive UTC): the buckets of its message_latency rows merged, so each
    percentile is over messages, to the bucket (10 ms up to 10 s)."""
    connection = db.connect(config)
    try:
        with connection.cursor() as cursor:
            cursor.execute(db.named_statements("bench")["message_latency"],
                           (config.processor.query_name, since, until))
            rows = cursor.fetchall()
    finally:
        connection.close()
    merged = latency.merged(latency.decode(buckets) for (buckets,) in rows)
    points = {f"p{round(p * 100)}": latency.percentile_ms(merged, p) for p in (0.5, 0.95, 0.99)}
    shown = {name: ms / 1000 for name, ms in {**points, "max": merged.max_ms}.items() if ms is not None}
    return {"batches": len(rows), "messages": merged.messages, **shown}


def _epoch(event: dict[str, Any]) -> float:
    return time_of(event).timestamp()


class LatencyProbe(Background):
    """Polls moving_averages for rows updated since the last look: each update's latency is
    updated_at minus the newest ingest_time it includes (both UTC, one machine's clock)."""

    def __init__(self, config: Config, every: float = 0.2) -> None:
        super().__init__(every)
        self.latencies: list[float] = []
        self.connection = db.connect(config)
        self.sql = db.named_statements("bench")["updated_rows"]
        self.since = datetime.now(timezone.utc).replace(tzinfo=None)

    def tick(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(self.sql, (self.since,))
            rows = cursor.fetchall()
        self.connection.rollback()  # a fresh snapshot next time
        self.latencies += [micros / 1e6 for micros, _ in rows]
        self.since = max([self.since, *[updated for _, updated in rows]])

    def close(self) -> None:
        self.connection.close()

    def report(self) -> dict[str, Any]:
        return {"updates": len(self.latencies),
                **{k: v and round(v, 3) for k, v in percentiles(self.latencies).items()}}
