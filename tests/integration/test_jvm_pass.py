"""The processor's Java pass (processor/jvm_pass.py) gives the rows of Spark SQL's
classify.summarise, its reference, column for column: on a mixed batch over three partitions
(samples and trades, several symbols and windows, repeated keys, every poison message, late and
future rows, a window spread over partitions). Its reasons are held to the Python rules by
test_parity.py's thousands of generated messages."""
from __future__ import annotations

import random
from datetime import datetime, timezone
from typing import Any

import pytest

from cryptostream.pipeline.processor import classify, jvm_pass
from tests.helpers.messages import NOW, POISON, SYMBOLS, message
from tests.helpers.spark import WINDOW_MS, rules

pytestmark = pytest.mark.integration  # a local Spark session

pyspark = pytest.importorskip("pyspark")

KAFKA_COLUMNS = "topic string, partition int, offset long, key binary, value binary, timestamp timestamp"


def mixed_batch(seed: int) -> list[tuple[int, bytes, int]]:
    """(partition, value, record ms) of a batch a busy topic could hold."""
    pick = random.Random(seed)
    batch = []
    for i in range(3_000):
        event = NOW - 3 * WINDOW_MS + pick.randrange(4 * WINDOW_MS)
        body: dict[str, Any] = {"symbol": pick.choice(SYMBOLS), "event_time": event,
                                "ingest_time": event + pick.randrange(-50, 2_000),
                                "price": f"{pick.randrange(1, 10**12) / 10**8:.8f}",
                                "source": pick.choice(["binance-rest", "sim"])}
        if pick.random() < 0.4:
            body.update(schema_version=2, source="binance-ws", trade_id=pick.randrange(10**6),
                        quantity=f"{pick.randrange(1, 10**9) / 10**8:.8f}")
        partition = SYMBOLS.index(body["symbol"]) if pick.random() < 0.9 else 2  # a few keyed elsewhere
        batch.append((partition, message(**body), NOW + pick.randrange(-1_000, 1_000)))
        if pick.random() < 0.05:
            batch.append((partition, batch[-1][1], batch[-1][2]))  # a copy: distinct keys < count
        if pick.random() < 0.03:
            batch.append((pick.randrange(3), pick.choice(POISON)[0], NOW))
    return batch


def kafka_rows(spark, batch: list[tuple[int, bytes, int]]):
    offsets = [0, 0, 0]
    rows = []
    for partition, value, record_ms in batch:
        rows.append(("crypto_prices", partition, 1_000 + offsets[partition], b"k", bytearray(value),
                     datetime.fromtimestamp(record_ms / 1000, tz=timezone.utc)))
        offsets[partition] += 1
    # as the Kafka source reads them: a Kafka partition in one task, here one task with two
    return spark.createDataFrame(rows, KAFKA_COLUMNS).repartition(2, "partition")


def comparable(rows) -> list[dict[str, Any]]:
    """Rows as plain values, groups and their rejects in a fixed order (Spark's collect_list has none)."""
    groups = [row.asDict(recursive=True) for row in rows]
    for group in groups:
        group["rejects"] = sorted(group["rejects"], key=lambda r: (r["partition"], r["offset"]))
    return sorted(groups, key=lambda g: (g["partition"], g["symbol"] or "", g["window_start_ms"] or 0))


def differences(expected: list[dict[str, Any]], got: list[dict[str, Any]]) -> str:
    """The first differing fields, group by group, for the failure message."""
    if len(expected) != len(got):
        return f"{len(expected)} groups by Spark SQL, {len(got)} by the Java pass"
    found = [f"{(e['partition'], e['symbol'], e['window_start_ms'])} {name}: sql {e[name]!r:.300} java {g.get(name)!r:.300}"
             for e, g in zip(expected, got) for name in e if e[name] != g.get(name)]
    return "\n".join(found[:20])


@pytest.mark.parametrize("seed", [1, 2])
def test_the_java_pass_gives_the_sql_summary(spark, seed) -> None:
    frame = kafka_rows(spark, mixed_batch(seed))
    # the oldest window closed (its rows late), ages taken a little after the newest ingest
    batch_rules = rules(NOW - 2 * WINDOW_MS - NOW % WINDOW_MS)
    batch_rules = classify.Rules(batch_rules.symbols, batch_rules.window_ms, batch_rules.max_future_ms,
                                 batch_rules.watermark_ms, NOW + 2_500)
    sql = classify.summarise(classify.classify(frame, batch_rules), batch_rules)
    java = jvm_pass.summarise(frame, batch_rules)
    assert java.schema.simpleString() == sql.schema.simpleString()  # the same columns and types
    expected, got = comparable(sql.collect()), comparable(java.collect())
    assert len(expected) >= 10 and any(g["rejects"] for g in expected)
    assert any(g["distinct_keys"] < g["sample_count"] for g in expected if g["symbol"])
    assert {r["reason"] for g in expected for r in g["rejects"]} >= {"late", "not_json", "future_event_time"}
    assert got == expected, differences(expected, got)


def test_an_empty_batch_has_no_groups(spark) -> None:
    assert jvm_pass.summarise(spark.createDataFrame([], KAFKA_COLUMNS), rules()).collect() == []
