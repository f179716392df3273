"""The one configuration object: conf/cryptostream.ini, then CRYPTOSTREAM_<SECTION>_<KEY> overrides.

Every value is validated when loaded; a bad one raises ConfigError naming the key, so a
program stops at start with a clear message instead of failing later.
"""
from __future__ import annotations

import configparser
import dataclasses
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_FILE = PROJECT_DIR / "conf" / "cryptostream.ini"
ENV_PREFIX = "CRYPTOSTREAM_"
SYMBOL_PATTERN = re.compile(r"^[A-Z0-9]{2,20}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|seconds?|m|min|minutes?|h|hours?)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "sec": 1, "second": 1, "seconds": 1, "m": 60, "min": 60,
                 "minute": 60, "minutes": 60, "h": 3600, "hour": 3600, "hours": 3600}


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the key."""


class Secret:
    """A string that never shows itself in repr, str or logs."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class Duration(float):
    """Seconds, written in the file as '1.5', '30s', '1m', '250ms' or '1 minute'."""


class Port(int):
    """A TCP port, 1-65535."""


class Symbols(tuple):
    """A comma-separated list of exchange symbols such as BTCUSDT."""


class Urls(tuple):
    """A comma-separated list of http(s) base URLs, tried in order."""


@dataclass(frozen=True)
class ExchangeConfig:
    base_urls: Urls = Urls(("https://api.binance.com", "https://api1.binance.com",
                            "https://api2.binance.com", "https://api3.binance.com"))
    symbols: Symbols = Symbols(("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "ADAUSDT"))
    poll_interval: Duration = Duration(1.0)
    connect_timeout: Duration = Duration(3.0)
    read_timeout: Duration = Duration(5.0)
    weight_limit_per_minute: int = 6000
    weight_headroom: float = 0.8
    backoff_initial: Duration = Duration(0.5)
    backoff_max: Duration = Duration(30.0)
    # The WebSocket trade stream (source = websocket), and its REST backfill after gaps.
    source: str = "rest"  # rest: poll the ticker; websocket: every trade, with the exchange's trade time
    ws_base_url: str = "wss://stream.binance.com:9443"
    ws_max_connection_age: Duration = Duration(23 * 3600)  # renewed before Binance's 24 h cut
    backfill_max_requests: int = 100  # historicalTrades calls (weight 25 each) per gap repair


@dataclass(frozen=True)
class SimulatorConfig:
    port: Port = Port(8090)
    mirror_port: Port = Port(8091)  # the same exchange under a second base URL (the fallback)
    seed: int = 42
    ws_port: Port = Port(8092)  # the WebSocket trade stream

    @property
    def base_urls(self) -> str:
        """CRYPTOSTREAM_EXCHANGE_BASE_URLS for a producer using the simulated exchange."""
        return f"http://127.0.0.1:{self.port},http://127.0.0.1:{self.mirror_port}"

    @property
    def ws_url(self) -> str:
        """CRYPTOSTREAM_EXCHANGE_WS_BASE_URL for a producer using the simulated exchange."""
        return f"ws://127.0.0.1:{self.ws_port}"


@dataclass(frozen=True)
class KafkaConfig:
    bootstrap_servers: str = "127.0.0.1:9092"
    topic: str = "crypto_prices"
    partitions: int = 3
    replication_factor: int = 1
    min_insync_replicas: int = 1  # set on the topic when created, if above 1 (the producer uses acks=all)
    retention: Duration = Duration(24 * 3600)
    private_broker: bool = True  # false: bootstrap_servers is a Kafka (cluster) bin/up does not run
    port: Port = Port(9092)
    controller_port: Port = Port(9093)
    heap: str = "512m"


@dataclass(frozen=True)
class ProducerConfig:
    buffer_max_messages: int = 100_000
    linger_ms: int = 20
    compression: str = "gzip"
    retry_interval: Duration = Duration(2.0)


@dataclass(frozen=True)
class ProcessorConfig:
    spark_master: str = "local[*]"
    window: Duration = Duration(60.0)
    watermark: Duration = Duration(30.0)
    trigger_interval: Duration = Duration(1.0)
    max_future_skew: Duration = Duration(300.0)
    shuffle_partitions: int = 4
    max_offsets_per_trigger: int = 500_000
    driver_memory: str = "1g"
    executor_memory: str = "1g"  # per executor on a cluster; local[*] runs its tasks in the driver
    cores_max: int = 0  # cores taken from a standalone cluster; 0: all it offers
    mysql_retries: int = 5
    fail_on_data_loss: bool = False
    query_name: str = "moving_averages"


@dataclass(frozen=True)
class MySQLConfig:
    host: str = "127.0.0.1"
    port: Port = Port(3306)
    database: str = "crypto_streaming"
    user: str = "cryptostream"
    password: Secret = field(default=Secret(""), compare=False)
    private_instance: bool = True


@dataclass(frozen=True)
class MetricsConfig:
    producer_port: int = 9101
    processor_port: int = 9102


@dataclass(frozen=True)
class ChecksConfig:
    freshness: Duration = Duration(120.0)
    lag_warn: int = 1_000
    lag_fail: int = 100_000
    batch_p95_warn: Duration = Duration(5.0)
    batch_p95_fail: Duration = Duration(30.0)
    api_failure_rate_warn: float = 0.05
    api_failure_rate_fail: float = 0.5
    restarts_warn: int = 3


@dataclass(frozen=True)
class Config:
    exchange: ExchangeConfig
    simulator: SimulatorConfig
    kafka: KafkaConfig
    producer: ProducerConfig
    processor: ProcessorConfig
    mysql: MySQLConfig
    checks: ChecksConfig
    metrics: MetricsConfig
    var_dir: Path
    jars_dir: Path  # CRYPTOSTREAM_JARS_DIR; images bake the jars outside the data volume

    @property
    def external_services(self) -> frozenset[str]:
        """Services of the native stack that run elsewhere: bin/up leaves their supervisord
        programs stopped, and the checks do not look for them."""
        return frozenset(name for name, private in (("mysql", self.mysql.private_instance),
                                                    ("kafka", self.kafka.private_broker)) if not private)

    @property
    def secrets_dir(self) -> Path:
        return self.var_dir / "secrets"

    @property
    def checkpoint_dir(self) -> Path:
        return self.var_dir / "checkpoints" / self.processor.query_name


def _duration(text: str) -> Duration:
    match = _DURATION.match(text)
    if not match:
        raise ValueError("expected a duration such as 30s, 1m or 1.5")
    return Duration(float(match.group(1)) * _UNIT_SECONDS.get(match.group(2) or "s", 1))


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _port(text: str) -> Port:
    value = int(text)
    if not 1 <= value <= 65535:
        raise ValueError("expected a port between 1 and 65535")
    return Port(value)


def _symbols(text: str) -> Symbols:
    items = tuple(s.strip().upper() for s in text.split(",") if s.strip())
    bad = [s for s in items if not SYMBOL_PATTERN.match(s)]
    if not items or bad:
        raise ValueError(f"expected symbols matching {SYMBOL_PATTERN.pattern}, bad: {bad or 'none given'}")
    return Symbols(items)


def _urls(text: str) -> Urls:
    items = tuple(u.strip().rstrip("/") for u in text.split(",") if u.strip())
    bad = [u for u in items if not re.match(r"^https?://[^\s/]+", u)]
    if not items or bad:
        raise ValueError(f"expected http(s) URLs, bad: {bad or 'none given'}")
    return Urls(items)


_PARSERS = {Duration: _duration, Port: _port, Symbols: _symbols, Urls: _urls, bool: _bool,
            int: int, float: float, str: str.strip, Secret: Secret}


def _field_type(section_cls: type, name: str) -> type:
    hints = {"Duration": Duration, "Port": Port, "Symbols": Symbols, "Urls": Urls, "bool": bool,
             "int": int, "float": float, "str": str, "Secret": Secret}
    return hints[next(f.type for f in fields(section_cls) if f.name == name)]


def _check_ranges(section: str, values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        kind = type(value)
        if kind in (int, Duration, float) and not isinstance(value, bool) and value < 0:
            raise ConfigError(f"{section}.{key}: must not be negative, got {value}")
    positive = {"poll_interval", "window", "trigger_interval", "partitions", "read_timeout",
                "connect_timeout", "buffer_max_messages", "shuffle_partitions", "replication_factor",
                "min_insync_replicas"}
    for key in positive & values.keys():
        if values[key] <= 0:
            raise ConfigError(f"{section}.{key}: must be greater than 0, got {values[key]}")


def _section_values(section: str, cls: type, parser: configparser.ConfigParser,
                    env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    known = {f.name for f in fields(cls)}
    if parser.has_section(section):
        unknown = set(parser.options(section)) - known
        if unknown:
            raise ConfigError(f"{section}.{sorted(unknown)[0]}: unknown key")
    for name in known:
        env_key = f"{ENV_PREFIX}{section}_{name}".upper()
        raw = env.get(env_key, parser.get(section, name, fallback=None))
        if raw is None:
            continue
        try:
            values[name] = _PARSERS[_field_type(cls, name)](raw)
        except ValueError as exc:
            shown = "********" if name == "password" else raw
            raise ConfigError(f"{section}.{name}: {exc} (got {shown!r})") from None
    _check_ranges(section, values)
    return values


_SECTIONS = {"exchange": ExchangeConfig, "simulator": SimulatorConfig, "kafka": KafkaConfig,
             "producer": ProducerConfig, "processor": ProcessorConfig, "mysql": MySQLConfig,
             "checks": ChecksConfig, "metrics": MetricsConfig}


def _read_password(var_dir: Path, env: Mapping[str, str]) -> Secret:
    """The generated dev password file, unless CRYPTOSTREAM_MYSQL_PASSWORD(_FILE) says otherwise."""
    path = Path(env.get(f"{ENV_PREFIX}MYSQL_PASSWORD_FILE", var_dir / "secrets" / "mysql-password"))
    return Secret(path.read_text().strip()) if path.exists() else Secret("")


def load(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read the config file and the environment; raise ConfigError on any bad value."""
    env = os.environ if env is None else env
    path = Path(path or env.get(f"{ENV_PREFIX}CONFIG", DEFAULT_CONFIG_FILE))
    parser = configparser.ConfigParser(interpolation=None)
    if not parser.read(path):
        raise ConfigError(f"config file {path} not found or unreadable")
    unknown = set(parser.sections()) - _SECTIONS.keys()
    if unknown:
        raise ConfigError(f"[{sorted(unknown)[0]}]: unknown section in {path}")
    var_dir = Path(env.get(f"{ENV_PREFIX}HOME", PROJECT_DIR / "var")).resolve()
    sections = {name: cls(**_section_values(name, cls, parser, env)) for name, cls in _SECTIONS.items()}
    jars_dir = Path(env.get(f"{ENV_PREFIX}JARS_DIR", var_dir / "jars")).resolve()
    config = Config(var_dir=var_dir, jars_dir=jars_dir, **sections)
    if not config.mysql.password.reveal():
        mysql = dataclasses.replace(config.mysql, password=_read_password(var_dir, env))
        config = dataclasses.replace(config, mysql=mysql)
    _check_cross_fields(config)
    return config


def _check_cross_fields(config: Config) -> None:
    if config.processor.watermark > 24 * 3600:
        raise ConfigError("processor.watermark: must be at most 24h")
    if not re.match(r"^[A-Za-z0-9_]{1,64}$", config.mysql.database):
        raise ConfigError(f"mysql.database: must match [A-Za-z0-9_]{{1,64}}, got {config.mysql.database!r}")
    if not re.match(r"^[A-Za-z0-9_.-]{1,249}$", config.kafka.topic):
        raise ConfigError(f"kafka.topic: not a valid Kafka topic name: {config.kafka.topic!r}")
    _check_replication(config.kafka)
    _check_stream_source(config.exchange)


def _check_replication(kafka: KafkaConfig) -> None:
    if kafka.min_insync_replicas > kafka.replication_factor:
        raise ConfigError(f"kafka.min_insync_replicas: must be at most kafka.replication_factor "
                          f"({kafka.replication_factor}), got {kafka.min_insync_replicas}")
    if kafka.private_broker and kafka.replication_factor > 1:
        raise ConfigError(f"kafka.replication_factor: the private broker is a single node, got "
                          f"{kafka.replication_factor}; set kafka.private_broker = false to use a cluster")


SOURCES = ("rest", "websocket")


def _check_stream_source(exchange: ExchangeConfig) -> None:
    if exchange.source not in SOURCES:
        raise ConfigError(f"exchange.source: must be one of {', '.join(SOURCES)}, got {exchange.source!r}")
    if not re.match(r"^wss?://[^\s/]+$", exchange.ws_base_url.rstrip("/")):
        raise ConfigError(f"exchange.ws_base_url: expected ws(s)://host[:port], got {exchange.ws_base_url!r}")
    if exchange.ws_max_connection_age <= 0:
        raise ConfigError("exchange.ws_max_connection_age: must be greater than 0")
