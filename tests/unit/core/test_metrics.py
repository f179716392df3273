"""Each program's metrics endpoint shows only that program's figures, and the dashboard gauges
follow the work they describe."""
from __future__ import annotations

import json
import socket
import time
from types import SimpleNamespace

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from cryptostream.core import metrics
from cryptostream.core.ports import free_port
from cryptostream.pipeline.processor.progress import partition_lag

pytestmark = pytest.mark.unit


def families(registry) -> set[str]:
    return {family.name for family in registry.collect() if family.name.startswith("cryptostream_")}


def test_no_metric_is_on_both_endpoints() -> None:
    """A processor figure on the producer's endpoint would read as 0 batches there, and back."""
    producer, processor = families(metrics.PRODUCER_REGISTRY), families(metrics.PROCESSOR_REGISTRY)
    assert not producer & processor
    assert "cryptostream_exchange_requests" in producer
    assert "cryptostream_batches" in processor


def test_each_endpoint_keeps_its_process_figures() -> None:
    """CPU and memory of each program stay on its own endpoint."""
    for registry in (metrics.PRODUCER_REGISTRY, metrics.PROCESSOR_REGISTRY):
        text = generate_latest(registry).decode()
        assert "process_cpu_seconds_total" in text
        assert "python_info" in text


def test_a_drain_that_acknowledged_messages_sets_the_last_publish_time() -> None:
    before = time.time()
    metrics.published(3, 7)
    assert metrics.LAST_PUBLISH._value.get() >= before
    assert metrics.PENDING._value.get() == 7


def test_a_drain_that_acknowledged_nothing_keeps_the_last_publish_time() -> None:
    metrics.LAST_PUBLISH.set(123.0)
    metrics.published(0, 2)
    assert metrics.LAST_PUBLISH._value.get() == 123.0


def progress(latest: dict | None, end: dict | None) -> SimpleNamespace:
    sources = [SimpleNamespace(latestOffset=json.dumps(latest) if latest is not None else None,
                               endOffset=json.dumps(end) if end is not None else None)]
    return SimpleNamespace(sources=sources)


def test_partition_lag_is_latest_minus_what_the_batch_read() -> None:
    lag = partition_lag(progress({"crypto_prices": {"0": 120, "1": 50}}, {"crypto_prices": {"0": 100, "1": 50}}))
    assert lag == {0: 20, 1: 0}


def test_partition_lag_without_offsets_is_empty() -> None:
    assert partition_lag(progress(None, None)) == {}
    assert partition_lag(SimpleNamespace(sources=[])) == {}


def test_bucketed_histogram_takes_counts_per_value() -> None:
    """500 messages at 0.2 s and 3 at 2.5 s, added at once: the cumulative buckets, count and sum."""
    registry = metrics.CollectorRegistry()
    histogram = metrics.BucketedHistogram("test_latency_seconds", "test", (0.25, 1, 2), "since", registry)
    histogram.add("ingest", {0.2: 500, 2.5: 3})
    text = generate_latest(registry).decode()
    assert 'test_latency_seconds_bucket{le="0.25",since="ingest"} 500.0' in text
    assert 'test_latency_seconds_bucket{le="2.0",since="ingest"} 500.0' in text
    assert 'test_latency_seconds_bucket{le="+Inf",since="ingest"} 503.0' in text
    assert 'test_latency_seconds_count{since="ingest"} 503.0' in text
    assert 'test_latency_seconds_sum{since="ingest"} 107.5' in text


def test_a_value_on_a_bound_is_in_that_bucket() -> None:
    registry = metrics.CollectorRegistry()
    histogram = metrics.BucketedHistogram("test_edge_seconds", "test", (1, 2), "since", registry)
    histogram.add("ingest", {1.0: 2})
    assert 'test_edge_seconds_bucket{le="1.0",since="ingest"} 2.0' in generate_latest(registry).decode()


def test_message_latency_is_on_the_processor_endpoint() -> None:
    assert "cryptostream_message_latency_seconds" in families(metrics.PROCESSOR_REGISTRY)


def test_a_metrics_port_in_use_is_one_clear_error_naming_the_setting() -> None:
    """The producer and the processor exit with this (cannot_start), not a traceback."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", free_port()))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(metrics.PortInUse) as failure:
            metrics.serve(port, CollectorRegistry(), "metrics.producer_port")
    assert f"127.0.0.1:{port} is already in use" in str(failure.value)
    assert "CRYPTOSTREAM_METRICS_PRODUCER_PORT" in str(failure.value)
