"""daily-check's producer row for the WebSocket source, from the producer's log lines."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from cryptostream.core.config import load
from cryptostream.ops.health.facts import Facts
from cryptostream.ops.health.rows import producer


def check_with_log(tmp_path, *events: str):
    (tmp_path / "log").mkdir()
    stamp = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    lines = [json.dumps({"timestamp": stamp, "event": event}) for event in events]
    (tmp_path / "log" / "producer.log").write_text("\n".join(lines) + "\n")
    config = load(env={"CRYPTOSTREAM_HOME": str(tmp_path), "CRYPTOSTREAM_EXCHANGE_SOURCE": "websocket"})
    return producer.api_health(Facts(config))


def test_streaming_is_ok(tmp_path) -> None:
    assert check_with_log(tmp_path, "stream", "stream", "ws_disconnected").status.name == "OK"


def test_a_gap_not_refilled_fails(tmp_path) -> None:
    """Trades the backfill could not fetch are missing data: FAIL, with where to look."""
    result = check_with_log(tmp_path, "stream", "backfill_incomplete")
    assert result.status.name == "FAIL"
    assert "backfill_incomplete" in result.detail


def test_no_stream_reports_warn(tmp_path) -> None:
    assert check_with_log(tmp_path, "ws_connect_failed").status.name == "WARN"
