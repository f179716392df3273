"""The dedup keys earlier batches counted where a new batch's ranges overlap theirs
(counted_ranges.py), read back from Kafka at the offsets those batches counted. This is the
rare case of a possible copy; in normal operation nothing is read."""
from __future__ import annotations

import json
from functools import reduce
from typing import Any

from cryptostream.core.config import Config
from cryptostream.pipeline.processor import classify
from cryptostream.pipeline.processor.counted_ranges import CountedRange, Earlier
from cryptostream.pipeline.processor.windows import epoch_ms


def keys_frame(spark: Any, config: Config, rules: classify.Rules, earlier: Earlier) -> Any:
    """(symbol, key) rows: every key the earlier batches counted in the overlapping windows.

    One Kafka read per earlier batch: a batch's messages are all counted or rejected by it, so
    the span of its offsets in a partition holds nothing another batch counted (a span over
    several batches could take in a quarantined batch's prices, which were never counted)."""
    by_batch: dict[int, list[CountedRange]] = {}
    for batch_id, counted in earlier.ranges:
        by_batch.setdefault(batch_id, []).append(counted)
    frames = [_read_back(spark, config, rules, ranges) for ranges in by_batch.values()]
    frames.append(_literal(spark, earlier.keys))
    return reduce(lambda a, b: a.unionByName(b), frames)


def _read_back(spark: Any, config: Config, rules: classify.Rules, ranges: list[CountedRange]) -> Any:
    spans: dict[str, dict[str, list[int]]] = {}
    for counted in ranges:
        for topic, partitions in counted.offsets.items():
            for partition, (first, last) in partitions.items():
                low, high = spans.setdefault(topic, {}).get(partition, (first, last))
                spans[topic][partition] = [min(low, first), max(high, last)]
    rows = (spark.read.format("kafka")
            .option("kafka.bootstrap.servers", config.kafka.bootstrap_servers)
            .option("assign", json.dumps({topic: sorted(map(int, parts)) for topic, parts in spans.items()}))
            .option("startingOffsets", json.dumps({t: {p: s[0] for p, s in parts.items()} for t, parts in spans.items()}))
            .option("endingOffsets", json.dumps({t: {p: s[1] + 1 for p, s in parts.items()}
                                                 for t, parts in spans.items()}))
            .option("failOnDataLoss", "true")  # a missing message could hide a copy: fail loudly
            .load())
    return classify.keys_in(rows, rules, [(r.symbol, epoch_ms(r.window_start)) for r in ranges])


def _literal(spark: Any, keys: frozenset[tuple[str, str]]) -> Any:
    """(symbol, key) rows built in the JVM from one JSON literal, so no Python worker is
    needed on the executors of a cluster."""
    from pyspark.sql import functions as F
    text = json.dumps([{"symbol": symbol, "key": key} for symbol, key in sorted(keys)])
    rows = F.from_json(F.lit(text), "array<struct<symbol:string,key:string>>")
    return spark.range(1).select(F.explode(rows).alias("k")).select("k.symbol", "k.key")
