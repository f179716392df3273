"""Rules checked once the whole configuration is loaded: settings that must agree with each other,
and the names that go into SQL and Kafka; the first broken one raises ConfigError naming its key."""
from __future__ import annotations

import re

from cryptostream.core.config.errors import ConfigError
from cryptostream.core.config.sections import (ChecksConfig, Config, Duration, ExchangeConfig, KafkaConfig,
                                               ProcessorConfig, StatsConfig)
from cryptostream.core.config.values import url_port_ok


def _seconds(value: float) -> str:
    return f"{value:g}s"


def _show(value: float) -> str:
    return _seconds(value) if isinstance(value, Duration) else str(value)


def check_cross_fields(config: Config) -> None:
    """Raise ConfigError for the first rule across keys that the configuration breaks."""
    if not re.match(r"^[A-Za-z0-9_]{1,64}$", config.mysql.database):
        raise ConfigError(f"mysql.database: must match [A-Za-z0-9_]{{1,64}} (got {config.mysql.database!r})")
    if not re.match(r"^[A-Za-z0-9_.-]{1,249}$", config.kafka.topic):
        raise ConfigError(f"kafka.topic: not a valid Kafka topic name (got {config.kafka.topic!r})")
    _check_replication(config.kafka)
    _check_stream_source(config.exchange)
    _check_symbol_count(config.exchange)
    _check_backoff(config.exchange)
    _check_windows(config.processor, config.kafka)
    _check_thresholds(config.checks)
    _check_stats(config.stats)


def _check_replication(kafka: KafkaConfig) -> None:
    if kafka.min_insync_replicas > kafka.replication_factor:
        raise ConfigError(f"kafka.min_insync_replicas: must be at most kafka.replication_factor "
                          f"({kafka.replication_factor}) (got {kafka.min_insync_replicas})")
    if kafka.private_broker and kafka.replication_factor > 1:
        raise ConfigError(f"kafka.replication_factor: the private broker is a single node; set "
                          f"kafka.private_broker = false to use a cluster (got {kafka.replication_factor})")


SOURCES = ("rest", "websocket")
# Most symbols one source can carry. Binance documents no cap for ticker/price's symbols=[...], but
# the list travels in the URL and long ones are refused; 100 is the cap it documents for the same
# parameter of GET /api/v3/ticker. A combined-stream connection carries at most 1024 streams
# (developers.binance.com, WebSocket Streams), one <symbol>@trade stream per symbol.
MAX_SYMBOLS = {"rest": 100, "websocket": 1024}


def _check_stream_source(exchange: ExchangeConfig) -> None:
    if exchange.source not in SOURCES:
        raise ConfigError(f"exchange.source: must be one of {', '.join(SOURCES)} (got {exchange.source!r})")
    url = exchange.ws_base_url.rstrip("/")
    if not re.match(r"^wss?://[^\s/]+$", url) or not url_port_ok(url):
        raise ConfigError(f"exchange.ws_base_url: expected ws(s)://host[:port] (got {exchange.ws_base_url!r})")


def _check_symbol_count(exchange: ExchangeConfig) -> None:
    limit = MAX_SYMBOLS[exchange.source]
    if len(exchange.symbols) > limit:
        raise ConfigError(f"exchange.symbols: at most {limit} with exchange.source = {exchange.source} "
                          f"(got {len(exchange.symbols)})")


def _check_backoff(exchange: ExchangeConfig) -> None:
    if exchange.backoff_max < exchange.backoff_initial:
        raise ConfigError(f"exchange.backoff_max: must be at least exchange.backoff_initial "
                          f"({_seconds(exchange.backoff_initial)}) (got {_seconds(exchange.backoff_max)})")


# The watermark keeps each window open (its state in the sink and counted keys in MySQL) until
# event time passes its end by the watermark; bound how many windows per symbol that can be.
MAX_OPEN_WINDOWS = 100


def _check_windows(processor: ProcessorConfig, kafka: KafkaConfig) -> None:
    window, watermark = processor.window, processor.watermark
    if processor.trigger_interval > window:
        raise ConfigError(f"processor.trigger_interval: must be at most processor.window ({_seconds(window)}) "
                          f"(got {_seconds(processor.trigger_interval)})")
    if watermark > 24 * 3600:
        raise ConfigError(f"processor.watermark: must be at most 24h (got {_seconds(watermark)})")
    if watermark > MAX_OPEN_WINDOWS * window:
        raise ConfigError(f"processor.watermark: must be at most {MAX_OPEN_WINDOWS} x processor.window "
                          f"({_seconds(MAX_OPEN_WINDOWS * window)}), the windows per symbol kept open "
                          f"(got {_seconds(watermark)})")
    if window + watermark >= kafka.retention:
        # a window becomes final only when its prices are still in Kafka, for bin/rebuild and bin/reconcile
        raise ConfigError(f"processor.watermark: processor.window + watermark must be shorter than "
                          f"kafka.retention ({_seconds(kafka.retention)}) (got {_seconds(window + watermark)})")


def _check_thresholds(checks: ChecksConfig) -> None:
    for name in ("lag", "batch_p95", "api_failure_rate"):
        warn, fail = getattr(checks, f"{name}_warn"), getattr(checks, f"{name}_fail")
        if warn > fail:
            raise ConfigError(f"checks.{name}_warn: must be at most checks.{name}_fail ({_show(fail)}) "
                              f"(got {_show(warn)})")


def _check_stats(stats: StatsConfig) -> None:
    # figures wait at most max_unwritten for a write; written less often, they would be dropped unwritten
    if stats.write_interval > stats.max_unwritten:
        raise ConfigError(f"stats.write_interval: must be at most stats.max_unwritten "
                          f"({_seconds(stats.max_unwritten)}) (got {_seconds(stats.write_interval)})")
