"""The pipeline's health for the page: figures read from the producer's and the processor's
metrics endpoints, each judged against the thresholds of [checks] as bin/daily-check does
(ok / warn / fail), and rates taken over the last minute of readings."""
from __future__ import annotations

import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Callable

import requests
from prometheus_client.parser import text_string_to_metric_families

from cryptostream.core.config import ChecksConfig, Config

RATE_SPAN = 60.0  # seconds of readings a rate is taken over
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]  # (name, labels) -> value


@dataclass(frozen=True)
class Figure:
    name: str
    value: float | None
    unit: str
    status: str  # ok, warn, fail, unknown
    detail: str


def scrape(port: int, timeout: float = 2.0) -> Samples | None:
    """Every sample of one metrics endpoint on 127.0.0.1; None when it does not answer."""
    try:
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=timeout).text
    except requests.RequestException:
        return None
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name` over the samples whose labels include `labels`."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def by_label(samples: Samples, name: str, label: str) -> dict[str, float]:
    return {dict(ls)[label]: v for (n, ls), v in samples.items() if n == name and label in dict(ls)}


def judge(value: float, warn: float, fail: float) -> str:
    return "fail" if value > fail else "warn" if value > warn else "ok"


class Health:
    """Keeps the last minute of readings of both endpoints, for rates and recent percentiles."""

    def __init__(self, config: Config, clock: Callable[[], float] = time.time) -> None:
        self.config, self.limits, self.clock = config, config.checks, clock
        self.readings: deque[tuple[float, Samples | None, Samples | None]] = deque()

    def read(self) -> dict:
        now = self.clock()
        producer = scrape(self.config.metrics.producer_port)
        processor = scrape(self.config.metrics.processor_port)
        self.readings.append((now, producer, processor))
        while self.readings and now - self.readings[0][0] > RATE_SPAN:
            self.readings.popleft()
        figures = [*producer_figures(producer, self._earliest(1), now, self.limits),
                   *processor_figures(processor, self._earliest(2), now, self.limits)]
        worst = max((f.status for f in figures), key=("ok", "unknown", "warn", "fail").index)
        return {"status": worst, "read_at": now, "figures": [asdict(f) for f in figures],
                "watermark": processor and processor.get(("cryptostream_watermark_timestamp_seconds", ()))}

    def _earliest(self, index: int) -> tuple[float, Samples] | None:
        """The oldest reading of the span from that endpoint, for differences over time."""
        for reading in self.readings:
            if reading[index] is not None:
                return reading[0], reading[index]
        return None


def _down(names: tuple[str, ...], program: str) -> list[Figure]:
    return [Figure(name, None, "", "fail" if i == 0 else "unknown",
                   f"the {program}'s metrics endpoint does not answer") for i, name in enumerate(names)]


PRODUCER_FIGURES = ("publish rate", "last publish", "exchange failures", "rate limits")
PROCESSOR_FIGURES = ("last batch", "kafka lag", "batch duration p95", "mysql write latency",
                     "mysql write failures", "rejects")


def producer_figures(now_samples: Samples | None, before: tuple[float, Samples] | None, now: float,
                     limits: ChecksConfig) -> list[Figure]:
    if now_samples is None:
        return _down(PRODUCER_FIGURES, "producer")
    published = total(now_samples, "cryptostream_messages_published_total")
    rate = _rate(published, before, now, "cryptostream_messages_published_total")
    age = now - now_samples.get(("cryptostream_last_publish_timestamp_seconds", ()), 0.0)
    requests_total = total(now_samples, "cryptostream_exchange_requests_total")
    failed = requests_total - total(now_samples, "cryptostream_exchange_requests_total", outcome="ok")
    limited = total(now_samples, "cryptostream_exchange_requests_total", outcome="rate_limited")
    share = failed / requests_total if requests_total else 0.0
    return [
        Figure("publish rate", rate, "msg/s", "ok" if rate else "warn", f"{published:.0f} published since start"),
        Figure("last publish", age, "s", judge(age, limits.freshness, limits.freshness),
               f"fail above {limits.freshness:g} s"),
        Figure("exchange failures", failed, "", judge(share, limits.api_failure_rate_warn, limits.api_failure_rate_fail),
               f"{share:.1%} of {requests_total:.0f} requests since start"),
        Figure("rate limits", limited, "", "warn" if limited else "ok", "429/418 answers since start"),
    ]


def processor_figures(now_samples: Samples | None, before: tuple[float, Samples] | None, now: float,
                      limits: ChecksConfig) -> list[Figure]:
    if now_samples is None:
        return _down(PROCESSOR_FIGURES, "processor")
    age = now - now_samples.get(("cryptostream_last_batch_timestamp_seconds", ()), 0.0)
    lag = total(now_samples, "cryptostream_partition_lag_messages")
    p95 = quantile(0.95, _bucket_increase(now_samples, before, "cryptostream_batch_duration_seconds_bucket"))
    writes = _increase(now_samples, before, "cryptostream_mysql_write_seconds_count")
    write_ms = 1000 * _increase(now_samples, before, "cryptostream_mysql_write_seconds_sum") / writes if writes else 0.0
    failures = total(now_samples, "cryptostream_mysql_write_failures_total")
    rejects = by_label(now_samples, "cryptostream_rejected_messages_total", "reason")
    return [
        Figure("last batch", age, "s", judge(age, limits.freshness, limits.freshness), f"fail above {limits.freshness:g} s"),
        Figure("kafka lag", lag, "msgs", judge(lag, limits.lag_warn, limits.lag_fail),
               f"warn above {limits.lag_warn}, fail above {limits.lag_fail}"),
        Figure("batch duration p95", p95, "s", judge(p95, limits.batch_p95_warn, limits.batch_p95_fail),
               f"last minute; warn above {limits.batch_p95_warn:g} s, fail above {limits.batch_p95_fail:g} s"),
        Figure("mysql write latency", write_ms, "ms", "ok", f"mean of {writes:.0f} transactions in the last minute"),
        Figure("mysql write failures", failures, "", "fail" if failures else "ok", "retried writes since start"),
        Figure("rejects", sum(rejects.values()), "", "warn" if rejects.get("quarantined") else "ok",
               ", ".join(f"{reason} {n:.0f}" for reason, n in sorted(rejects.items()) if n) or "none since start"),
    ]


def _increase(samples: Samples, before: tuple[float, Samples] | None, name: str, **labels: str) -> float:
    """How much a counter grew over the span (all of it when there is no earlier reading)."""
    earlier = total(before[1], name, **labels) if before else 0.0
    now = total(samples, name, **labels)
    return now - earlier if now >= earlier else now  # a restart resets counters


def _rate(value: float, before: tuple[float, Samples] | None, now: float, name: str) -> float:
    if before is None or now - before[0] < 1:
        return 0.0
    return max(0.0, value - total(before[1], name)) / (now - before[0])


def _bucket_increase(samples: Samples, before: tuple[float, Samples] | None, name: str) -> list[tuple[float, float]]:
    """(upper bound, increase of its cumulative count) per histogram bucket, by bound."""
    bounds = sorted({dict(ls)["le"] for (n, ls) in samples if n == name}, key=float)
    return [(float(le), _increase(samples, before, name, le=le)) for le in bounds]


def quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """The q-quantile of a histogram's (bound, cumulative count) buckets, interpolated within the
    bucket as Prometheus's histogram_quantile does; 0 without observations."""
    if not buckets or buckets[-1][1] <= 0:
        return 0.0
    rank, lower, below = q * buckets[-1][1], 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / max(cumulative - below, 1e-12)
        lower, below = bound, cumulative
    return lower
