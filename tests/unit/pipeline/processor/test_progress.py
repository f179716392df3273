"""The per-batch log line, from Spark's query progress as the JVM hands it over."""
from __future__ import annotations

import json
import threading

import pytest
from pyspark.sql.streaming.listener import QueryProgressEvent
from structlog.testing import capture_logs

from cryptostream.pipeline.processor.progress import JsonEvents, duration_parts, make_listener, partition_lag

pytestmark = pytest.mark.unit


def test_every_phase_becomes_a_snake_case_ms_field() -> None:
    """Spark's phases keep their milliseconds under <phase>_ms; triggerExecution is duration_ms elsewhere."""
    parts = duration_parts({"latestOffset": 12, "queryPlanning": 5, "addBatch": 240, "walCommit": 30,
                            "commitOffsets": 28, "triggerExecution": 330})
    assert parts == {"latest_offset_ms": 12, "query_planning_ms": 5, "add_batch_ms": 240, "wal_commit_ms": 30,
                     "commit_offsets_ms": 28}


def test_no_phases_no_fields() -> None:
    """A progress report without phases adds nothing to the line."""
    assert duration_parts({}) == {}


def progress_json(source_rate: float | None = None, **progress: object) -> str:
    """A QueryProgressEvent as the JVM writes it (StreamingQueryListener.QueryProgressEvent.json):
    a Kafka source; Spark leaves out a rate that is NaN (the first batch's input rate)."""
    return json.dumps({"progress": {
        "id": "3c256510-df81-476a-9bf2-d3d09730b58c", "runId": "19a5b723-3a29-4c7e-b3a4-116049e3982c",
        "name": "moving_averages", "timestamp": "2026-12-04T08:30:01.000Z", "batchId": 41, "batchDuration": 290,
        "numInputRows": 5, "processedRowsPerSecond": 17.2,
        "durationMs": {"addBatch": 240, "latestOffset": 12, "triggerExecution": 290, "walCommit": 2},
        "stateOperators": [],
        "sources": [{"description": "KafkaV2[Subscribe[crypto_prices]]",
                     "startOffset": {"crypto_prices": {"0": 10, "1": 7}},
                     "endOffset": {"crypto_prices": {"0": 13, "1": 9}},
                     "latestOffset": {"crypto_prices": {"0": 15, "1": 9}},
                     "numInputRows": 5, "processedRowsPerSecond": 17.2,
                     **({} if source_rate is None else {"inputRowsPerSecond": source_rate}),
                     "metrics": {"avgOffsetsBehindLatest": "1.0", "maxOffsetsBehindLatest": "2",
                                 "minOffsetsBehindLatest": "0"}}],
        "sink": {"description": "ForeachBatchSink", "numOutputRows": -1}, **progress}})


class JvmEvent:
    """What py4j hands the listener: an object whose json() is called across into the JVM."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.calls = 0

    def json(self) -> str:
        self.calls += 1
        return self.text


def test_a_progress_event_is_read_from_one_json_call_into_one_batch_line() -> None:
    stats = {41: {"aggregate_ms": 180.5}}
    event = JvmEvent(progress_json())
    with capture_logs() as logs:
        JsonEvents(make_listener(stats, threading.Event())).onQueryProgress(event)
    assert event.calls == 1
    [line] = [entry for entry in logs if entry["event"] == "batch"]
    assert line["batch_id"] == 41 and line["input_rows"] == 5 and line["duration_ms"] == 290
    assert line["input_rows_per_s"] is None and line["processed_rows_per_s"] == 17.2
    assert line["add_batch_ms"] == 240 and line["wal_commit_ms"] == 2 and line["aggregate_ms"] == 180.5
    assert line["offsets_behind_latest"] == 2
    assert stats == {}


def test_partition_lag_reads_the_offsets_of_the_json_form() -> None:
    progress = QueryProgressEvent.fromJson(json.loads(progress_json(source_rate=4.9))).progress
    assert partition_lag(progress) == {0: 2, 1: 0}


def test_a_replayed_batch_without_a_latest_offset_still_gets_its_line() -> None:
    """The first batch after a restart is re-run from the offset log, and Spark reports no
    latest offset for it (JSON null): its line and metrics must not be lost to that (run 15
    found the listener failing on it, so that batch logged nothing)."""
    event = json.loads(progress_json(source_rate=4.9))
    event["progress"]["sources"][0]["latestOffset"] = None
    with capture_logs() as logs:
        JsonEvents(make_listener({}, threading.Event())).onQueryProgress(JvmEvent(json.dumps(event)))
    assert [entry["batch_id"] for entry in logs if entry["event"] == "batch"] == [41]
    assert partition_lag(QueryProgressEvent.fromJson(event).progress) == {}
