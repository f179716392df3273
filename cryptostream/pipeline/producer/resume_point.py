"""Where a restarted trade stream resumes: the newest trade id per symbol it published, read
from the topic's newest messages, so the trades of its downtime are backfilled."""
from __future__ import annotations

import json

import structlog

from cryptostream.core import events
from cryptostream.core.config import Config
from cryptostream.pipeline import topic
from cryptostream.pipeline.producer.trade_messages import SOURCE

log = structlog.get_logger("producer")


def published_trade_ids(config: Config, per_partition: int = 5_000) -> dict[str, int]:
    """The highest trade id of each symbol among the topic's newest messages from this source
    (where a restarted producer resumes); empty when there are none or Kafka cannot say."""
    try:
        sample = topic.newest_messages(config, per_partition)
    except Exception as exc:  # noqa: BLE001 - no resume point: the stream starts afresh, logged
        log.warning(events.RESUME_POINT_UNKNOWN, error=type(exc).__name__, detail=str(exc)[:200])
        return {}
    last: dict[str, int] = {}
    for _, _, value, _ in sample:
        body = _json_object(value)
        if body.get("source") == SOURCE and isinstance(body.get("trade_id"), int) and body.get("symbol") \
                in config.exchange.symbols:
            last[body["symbol"]] = max(last.get(body["symbol"], -1), body["trade_id"])
    return last


def _json_object(value: bytes | None) -> dict:
    try:
        body = json.loads(value or b"")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
