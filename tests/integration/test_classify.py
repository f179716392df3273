"""The processor's Spark rules agree with the shared schema rules, and aggregate exactly."""
from __future__ import annotations

import dataclasses
import re
import threading
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from cryptostream.pipeline.processor import classify, code_mode, partials
from cryptostream.pipeline.schema import Reason, problem
from tests.helpers.messages import NOW, POISON, SYMBOLS, message
from tests.helpers.spark import WINDOW_MS, kafka_frame, rules

pytestmark = pytest.mark.integration  # a local Spark session

pyspark = pytest.importorskip("pyspark")


def summary(classified) -> partials.Summary:
    """What the processor does with a batch: one Spark pass, partitions combined in Python."""
    return partials.combine([row.asDict() for row in classify.summarise(classified, rules()).collect()])


def test_spark_and_python_rules_agree_on_every_poison_message(spark) -> None:
    """Each poison message gets the same reason from Spark as from schema.problem()."""
    values = [value for value, _ in POISON] + [message() + b"} trailing", message()]
    rows = classify.classify(kafka_frame(spark, values), rules()).select("offset", "reason").collect()
    spark_reasons = {row["offset"]: row["reason"] for row in rows}
    expected = {i: problem(v, SYMBOLS, 300_000, NOW) for i, v in enumerate(values)}
    assert spark_reasons == expected
    assert expected[len(values) - 1] is None


def test_rows_for_windows_closed_by_the_watermark_are_late(spark) -> None:
    """A row whose window ended at or before the watermark is rejected as late."""
    frame = kafka_frame(spark, [message(event_time=NOW), message(event_time=NOW + 10_000)])
    end_of_first = NOW - NOW % WINDOW_MS + WINDOW_MS
    reasons = [r["reason"] for r in classify.classify(frame, rules(end_of_first)).orderBy("offset").collect()]
    assert reasons == [Reason.LATE, None]


def test_aggregate_is_exact_with_open_and_close_by_event_time(spark) -> None:
    """Sum, count, min, max exact; open/close are first/last by event time, not by offset."""
    start = NOW - NOW % WINDOW_MS
    prices = [("3.00000001", start + 400), ("1.00000000", start + 100), ("2.50000000", start + 4_999),
              ("9.00000000", start + WINDOW_MS)]
    frame = kafka_frame(spark, [message(price=p, event_time=t) for p, t in prices])
    got = {a["window_start_ms"]: a for a in summary(classify.classify(frame, rules())).aggregates}
    first = got[start]
    assert first["price_sum"] == Decimal("6.50000001")
    assert first["sample_count"] == 3
    assert (first["min_price"], first["max_price"]) == (Decimal("1"), Decimal("3.00000001"))
    assert (first["open_price"], first["close_price"]) == (Decimal("1"), Decimal("2.5"))
    assert got[start + WINDOW_MS]["sample_count"] == 1


def test_partition_outcomes_give_next_offsets_and_rejects(spark) -> None:
    """Per partition: one past the highest offset seen, and the rejected rows with their bytes."""
    frame = classify.classify(kafka_frame(spark, [message(), b"junk", message()]), rules())
    outcome = summary(frame)
    assert outcome.next_offsets == {"crypto_prices": {"0": 3}}
    assert [(r["offset"], r["reason"], bytes(r["value"])) for r in outcome.rejects] == [(1, Reason.NOT_JSON, b"junk")]


def test_copies_of_a_price_are_marked_duplicate(spark) -> None:
    """Within a batch all but the first copy (by offset) of a (symbol, source, event time)
    are duplicates; a key an earlier batch counted makes every copy a duplicate; the same
    time from another source is another price."""
    values = [message(price="1", event_time=NOW), message(price="2", event_time=NOW),
              message(price="3", event_time=NOW + 1), message(price="1", event_time=NOW + 2),
              message(price="1", event_time=NOW + 2), b"junk", message(price="5", event_time=NOW, source="x")]
    classified = classify.classify(kafka_frame(spark, values), rules())
    [aggregate] = summary(classified).aggregates
    assert (aggregate["sample_count"], aggregate["distinct_keys"]) == (6, 4)
    assert (aggregate["first_time_key_ms"], aggregate["last_time_key_ms"]) == (NOW, NOW + 2)
    assert aggregate["first_trade_id"] is None
    assert aggregate["counted_offsets"] == {"crypto_prices": {"0": [0, 6]}}
    rest = "binance-rest"
    earlier = spark.createDataFrame([("BTCUSDT", f"{rest}:{NOW + 1}")], "symbol string, key string")
    marked = classify.mark_duplicates(classified, earlier)
    reasons = [r["reason"] for r in marked.orderBy("offset").collect()]
    assert reasons == [None, Reason.DUPLICATE, Reason.DUPLICATE, None, Reason.DUPLICATE, Reason.NOT_JSON, None]
    [deduplicated] = summary(marked).aggregates
    assert (deduplicated["sample_count"], deduplicated["price_sum"]) == (3, Decimal(7))
    assert deduplicated["distinct_keys"] == 3
    assert deduplicated["counted_offsets"] == {"crypto_prices": {"0": [0, 6]}}  # first and last counted


def test_trades_carry_volume_and_notional_and_dedup_by_trade_id(spark) -> None:
    """Quantities sum to the volume and price x quantity to the notional, exactly; two trades
    in the same millisecond are two prices; the same trade id twice is one."""
    def trade(trade_id: int, price: str, quantity: str) -> bytes:
        return message(schema_version=2, source="binance-ws", trade_id=trade_id, price=price, quantity=quantity)
    values = [trade(1, "97123.12345678", "0.00123456"), trade(2, "97000", "2"), trade(2, "97000", "2"),
              message(price="96000")]  # a price sample in the same window: no quantity
    marked = classify.mark_duplicates(classify.classify(kafka_frame(spark, values), rules()),
                                      spark.createDataFrame([], "symbol string, key string"))
    assert [r["reason"] for r in marked.orderBy("offset").collect()] == [None, None, Reason.DUPLICATE, None]
    [window] = summary(marked).aggregates
    assert window["sample_count"] == 3
    assert window["volume"] == Decimal("2.00123456")
    assert window["notional"] == Decimal("119.9043232948023168") + 194_000
    assert window["distinct_keys"] == 3
    assert (window["first_trade_id"], window["last_trade_id"]) == (1, 2)  # the counted range: trade ids
    assert window["first_time_key_ms"] == window["last_time_key_ms"] == NOW  # and the price keyed by time


def test_a_window_spread_over_partitions_is_combined_exactly(spark) -> None:
    """Prices of one window in two partitions (written with another key): sums add up, open
    and close are the first and last by (event_time, partition, offset), ranges spanning both."""
    stamp = datetime.fromtimestamp(NOW / 1000, tz=timezone.utc)
    start = NOW - NOW % WINDOW_MS
    rows = [("crypto_prices", partition, offset, b"k", bytearray(message(price=price, event_time=start + at)), stamp)
            for partition, offset, price, at in ((0, 0, "2", 100), (1, 0, "1", 100), (1, 1, "5", 300), (0, 1, "4", 300))]
    frame = spark.createDataFrame(rows, "topic string, partition int, offset long, key binary, value binary, "
                                        "timestamp timestamp")
    result = summary(classify.classify(frame, rules()))
    [window] = result.aggregates
    assert (window["sample_count"], window["price_sum"], window["min_price"], window["max_price"]) == (4, 12, 1, 5)
    assert (window["open_price"], window["close_price"]) == (Decimal(2), Decimal(5))  # ties: partition 0 first
    assert window["distinct_keys"] is None  # copies across partitions are not known here: the batch looks
    assert window["counted_offsets"] == {"crypto_prices": {"0": [0, 1], "1": [0, 1]}}
    assert (window["first_time_key_ms"], window["last_time_key_ms"]) == (start + 100, start + 300)
    assert result.next_offsets == {"crypto_prices": {"0": 2, "1": 2}}


def test_keys_in_gives_what_a_batch_counted_in_the_windows_asked_for(spark) -> None:
    """An earlier batch's messages read back: the keys of its valid prices in the windows asked
    for, a trade by its id; not the rejects, other symbols or other windows."""
    start = NOW - NOW % WINDOW_MS
    values = [message(event_time=start + 1), message(event_time=start + 2), b"junk",
              message(symbol="ETHUSDT", event_time=start + 1), message(event_time=start + WINDOW_MS),
              message(schema_version=2, source="binance-ws", trade_id=7, quantity="1", event_time=start + 3)]
    keys = classify.keys_in(kafka_frame(spark, values), rules(), [("BTCUSDT", start)]).collect()
    assert sorted((k["symbol"], k["key"]) for k in keys) == [
        ("BTCUSDT", f"binance-rest:{start + 1}"), ("BTCUSDT", f"binance-rest:{start + 2}"),
        ("BTCUSDT", "binance-ws:t7")]


def test_batches_at_new_times_compile_no_new_code(spark) -> None:
    """Each batch has its own start time and watermark; once warm, reading a batch the way the
    processor does (processor/batch.py: classified without the watermark, ages at the batch's
    start) compiles no Java code. A value written into the generated source would compile
    again every batch: most of a small batch's time and CPU."""
    compilations = spark._jvm.org.apache.spark.metrics.source.CodegenMetrics.METRIC_COMPILATION_TIME()

    def batch(i: int) -> dict[int, int]:
        start = NOW + i * 1_000
        values = [message(event_time=start + k, ingest_time=start + k) for k in range(20)]
        batch_rules = dataclasses.replace(rules(start - 30_000), now_ms=start + 700)
        groups = classify.summarise(classify.classify(kafka_frame(spark, values), batch_rules.without_watermark()),
                                    batch_rules).collect()
        return dict(partials.combine([g.asDict() for g in groups], batch_rules.now_ms).ages.ingest)

    assert batch(0) == {690: 10, 700: 10}  # ages 681..700 ms, in 10 ms buckets
    before = compilations.getCount()
    assert [batch(i) for i in (1, 2, 3)] == [{690: 10, 700: 10}] * 3
    assert compilations.getCount() == before


def test_interpreted_and_generated_code_give_the_same_batch(spark) -> None:
    """A small batch runs with interpreted expressions (code_mode.py), a big one with generated
    code: every poison message, valid prices and trades (one repeated) get the same reasons,
    aggregates, rejects and ages either way, and the interpreted plan has no generated stage."""
    def trade(trade_id: int, price: str) -> bytes:
        return message(schema_version=2, source="binance-ws", trade_id=trade_id, price=price, quantity="0.5")
    values = ([value for value, _ in POISON] + [message(price=f"{100 + i}.125", event_time=NOW + i * 7_000) for i in range(12)]
              + [trade(7, "97000.5"), trade(8, "97001"), trade(8, "97001")])
    frame = kafka_frame(spark, values)
    batch_rules = dataclasses.replace(rules(), now_ms=NOW + 60_000)

    def read(interpreted: bool) -> tuple:
        code_mode.use(spark, interpreted)
        classified = classify.classify(frame, batch_rules)
        summarised = classify.summarise(classified, batch_rules)
        rows = sorted(map(repr, summarised.collect()))
        plan = summarised._jdf.queryExecution().executedPlan().toString()  # as run (adaptive: after)
        reasons = [r["reason"] for r in classified.orderBy("offset").collect()]
        return plan, rows, reasons

    try:
        interpreted_plan, *interpreted = read(True)
        generated_plan, *generated = read(False)
    finally:
        code_mode.use(spark, False)
    stage = re.compile(r"\*\(\d+\) ")  # how a plan shows an operator of a generated stage
    assert not stage.search(interpreted_plan) and stage.search(generated_plan)
    assert interpreted == generated
    assert len(interpreted[0]) >= 3 and Reason.NOT_JSON in interpreted[1]


def test_a_warm_batch_makes_few_calls_into_the_jvm(spark, monkeypatch) -> None:
    """Reading a batch the processor's way once the plans are built: a few dozen py4j calls,
    each run by Spark's stream execution thread in the processor. Columns named by strings
    (three calls each) and column lists converted element by element made it 350
    (processor/jvm_columns.py)."""
    import py4j.clientserver
    frames = [kafka_frame(spark, [message(event_time=NOW + i * 1_000 + k) for k in range(5)]) for i in range(3)]
    batch_rules = rules(NOW - 30_000)
    sent = []
    real_send = py4j.clientserver.ClientServerConnection.send_command
    caller = threading.get_ident()

    def counted(connection, command):
        # py4j's finalizer thread sends the deletions of freed references ("m d") whenever it
        # gets to them, earlier batches' included (115 once landed inside a count): the batch's
        # own calls are the ones made from the thread that runs it.
        if threading.get_ident() == caller:
            sent.append(command.split("\n", 2)[:2])
        return real_send(connection, command)

    def read(frame) -> int:
        sent.clear()
        monkeypatch.setattr(py4j.clientserver.ClientServerConnection, "send_command", counted)
        try:
            rows = classify.summarise(classify.classify(frame, batch_rules.without_watermark()), batch_rules).collect()
        finally:
            monkeypatch.undo()
        return len(rows)

    read(frames[0])  # builds the plans
    groups = [read(frame) for frame in frames[1:]]
    assert groups[0] == groups[1] > 0
    assert len(sent) <= 40, f"{len(sent)} calls into the JVM for one batch: {sent}"
