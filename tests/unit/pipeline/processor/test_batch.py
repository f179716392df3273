"""The processor's last resort for a batch MySQL answers for but will not take: try again,
then store its rejects without content, never fail the query over it (processor/batch.py).
A stand-in sink refuses batches by content; MySQL itself is tested in tests/integration/test_sink.py."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from cryptostream.pipeline.processor import batch, partials, query
from cryptostream.pipeline.processor.sink import BatchResult


class RefusingSink:
    """Refuses any batch whose rejects carry a value; answers pings unless `away`."""

    def __init__(self, away: bool = False) -> None:
        self.away = away
        self.attempts: list[list[dict]] = []

    def write_batch(self, batch_id, windows, rejects, offsets, watermark_ms, keys=(), stats=(), ages=None):
        self.attempts.append(rejects)
        if any(r["value"] is not None for r in rejects):
            raise ValueError("data too long")
        return BatchResult(rejected=len(rejects), attempts=1)

    def healthy(self) -> bool:
        return not self.away


def handler(sink: RefusingSink) -> batch.BatchHandler:
    config = SimpleNamespace(processor=SimpleNamespace(watermark=2.0),
                             stats=SimpleNamespace(retention=400 * 86400.0, max_unwritten=3600.0,
                                                   latency_retention=7 * 86400.0))
    return batch.BatchHandler(config, sink)


REJECT = {"topic": "t", "partition": 0, "offset": 1, "record_ms": 0, "key": b"k", "value": b"x" * 1024,
          "value_length": 10**6, "value_sha256": "00" * 32, "reason": "too_large"}


def test_a_refused_batch_is_stored_without_content_and_counted() -> None:
    sink = RefusingSink()
    before = batch.BATCHES_SET_ASIDE.labels("stripped")._value.get()
    result, stored = handler(sink)._write(None, 7, partials.Summary(rejects=[REJECT]), {}, (0, 0))
    assert [len(a) for a in sink.attempts] == [1, 1, 1]  # as is, again, stripped
    assert result.rejected == 1
    assert stored[0]["value"] is None
    assert stored[0]["value_sha256"] == "00" * 32
    assert batch.BATCHES_SET_ASIDE.labels("stripped")._value.get() == before + 1


def test_a_mysql_outage_still_fails_the_batch() -> None:
    """When MySQL does not answer, nothing is set aside: the query fails and is replayed."""
    with pytest.raises(ValueError):
        handler(RefusingSink(away=True))._write(None, 8, partials.Summary(rejects=[REJECT]), {}, (0, 0))


def test_batch_limit_fits_the_driver_memory() -> None:
    config = SimpleNamespace(processor=SimpleNamespace(driver_memory="1g", max_offsets_per_trigger=500_000))
    assert query.batch_limit(config) == (1 << 30) // query.DRIVER_MEMORY_SHARE // query.DRIVER_BYTES_PER_MESSAGE
    config.processor.max_offsets_per_trigger = 1_000
    assert query.batch_limit(config) == 1_000


def test_a_failing_java_pass_is_followed_by_the_spark_sql_one(monkeypatch) -> None:
    """A batch the Java pass fails on is computed again by Spark SQL expressions, not set aside."""
    sink = RefusingSink()
    batch_handler = handler(sink)
    batch_handler.config.processor.summary = "jvm"
    ways: list[str] = []

    def compute(batch_rows, rules, offsets, timings, way):
        ways.append(way)
        if way == "jvm":
            raise RuntimeError("java.lang.ClassCastException in cryptostream.batch.Rules")
        return partials.Summary(groups=3)

    monkeypatch.setattr(batch_handler, "_compute", compute)
    assert batch_handler._compute_twice(None, None, {}, {}).groups == 3
    assert ways == ["jvm", "sql"]
    sink.away = True  # both ways failing while MySQL is away: the query fails, as before
    monkeypatch.setattr(batch_handler, "_compute", lambda *args: (_ for _ in ()).throw(RuntimeError("broker")))
    with pytest.raises(RuntimeError):
        batch_handler._compute_twice(None, None, {}, {})
