"""The one configuration object: conf/cryptostream.ini, then CRYPTOSTREAM_<SECTION>_<KEY> overrides.

Every value is validated when loaded; a bad one raises ConfigError naming the key, so a
program stops at start with a clear message instead of failing later.
"""
from __future__ import annotations

import configparser
import dataclasses
import difflib
import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from cryptostream.core.shipped_files import CHECKOUT, CONF_DIR

DEFAULT_CONFIG_FILE = CONF_DIR / "cryptostream.ini"
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
    symbol_check_interval: Duration = Duration(600.0)  # exchangeInfo (weight 20): which symbols trade


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


# ---- parsing: text to typed value, or ValueError saying what is expected -------------------

def _duration(text: str) -> Duration:
    match = _DURATION.match(text)
    if not match:
        raise ValueError("expected a duration such as 30s, 1m or 1.5")
    seconds = float(match.group(1)) * _UNIT_SECONDS.get(match.group(2) or "s", 1)
    if not math.isfinite(seconds):  # a few hundred digits overflow to inf
        raise ValueError("expected a finite duration")
    return Duration(seconds)


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError("expected a whole number") from None


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("expected a number") from None
    if not math.isfinite(value):  # float() accepts nan and inf, and nan slips through every range check
        raise ValueError("expected a finite number")
    return value


def _port(text: str) -> Port:
    value = _int(text)
    if not 1 <= value <= 65535:
        raise ValueError("expected a port between 1 and 65535")
    return Port(value)


def _symbols(text: str) -> Symbols:
    items = tuple(s.strip().upper() for s in text.split(",") if s.strip())
    bad = [s for s in items if not SYMBOL_PATTERN.match(s)]
    if not items or bad:
        raise ValueError(f"expected symbols matching {SYMBOL_PATTERN.pattern}, bad: {bad or 'none given'}")
    repeated = sorted(s for s, count in Counter(items).items() if count > 1)
    if repeated:  # one symbol twice would be polled, published and counted twice
        raise ValueError(f"expected each symbol once, repeated: {', '.join(repeated)}")
    return Symbols(items)


def _urls(text: str) -> Urls:
    items = tuple(u.strip().rstrip("/") for u in text.split(",") if u.strip())
    bad = [u for u in items if not re.match(r"^https?://[^\s/]+", u) or not _url_port_ok(u)]
    if not items or bad:
        raise ValueError(f"expected http(s) URLs with ports 1-65535, bad: {bad or 'none given'}")
    return Urls(items)


_PARSERS = {Duration: _duration, Port: _port, Symbols: _symbols, Urls: _urls, bool: _bool,
            int: _int, float: _float, str: str.strip, Secret: Secret}


def _field_type(section_cls: type, name: str) -> type:
    hints = {"Duration": Duration, "Port": Port, "Symbols": Symbols, "Urls": Urls, "bool": bool,
             "int": int, "float": float, "str": str, "Secret": Secret}
    return hints[next(f.type for f in fields(section_cls) if f.name == name)]


# ---- rules on one value: return what is expected, or None when the value is fine ----------

_HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
_HOST_PORT = re.compile(rf"^{_HOST}:(\d{{1,5}})$")
_SPARK_MASTER = re.compile(r"^(?:yarn|local(?:\[(?:\*|[1-9]\d*)(?:,[1-9]\d*)?\])?"
                           rf"|spark://{_HOST}:\d{{1,5}}(?:,{_HOST}:\d{{1,5}})*"
                           rf"|k8s://(?:https?://)?{_HOST}(?::\d{{1,5}})?)$")
_MEMORY = re.compile(r"^([1-9]\d{0,8})([kmgt])$", re.IGNORECASE)  # what both -Xmx and Spark accept
_MEMORY_SHIFT = {"k": 10, "m": 20, "g": 30, "t": 40}
SPARK_MIN_MEMORY = 512 << 20  # Spark refuses a driver or executor heap under 450 MiB
# What kafka-python's producer accepts (publisher.py maps none to None); the last three need a library.
COMPRESSIONS = ("none", "gzip", "snappy", "lz4", "zstd")


def _url_port_ok(url: str) -> bool:
    try:
        port = urlsplit(url).port
    except ValueError:  # not a number, or above 65535
        return False
    return port is None or port >= 1


def _host_port_ok(item: str) -> bool:
    match = _HOST_PORT.match(item.strip())
    return bool(match) and 1 <= int(match.group(1)) <= 65535


def _port_or_off(value: int) -> str | None:
    return None if 0 <= value <= 65535 else "expected a port between 1 and 65535, or 0 for off"


def _share(value: float) -> str | None:
    return None if 0 <= value <= 1 else "expected a share between 0 and 1"


def _headroom(value: float) -> str | None:
    return None if 0 < value <= 1 else "expected a share of the limit above 0 and at most 1"


def _bootstrap_servers(value: str) -> str | None:
    if all(_host_port_ok(item) for item in value.split(",")):
        return None
    return "expected host:port[,host:port...] with ports 1-65535"


def _compression(value: str) -> str | None:
    if value not in COMPRESSIONS:
        return f"expected one of {', '.join(COMPRESSIONS)}"
    if value in ("snappy", "lz4", "zstd") and not _codec_installed(value):
        return f"the {value} codec is not installed (pip install 'kafka-python[{value}]')"
    return None


def _codec_installed(name: str) -> bool:
    try:
        from kafka import codec
    except ImportError:  # no producer here (a tool that only reads the settings)
        return True
    return bool(getattr(codec, f"has_{name}")())


def _spark_master(value: str) -> str | None:
    ports = re.findall(r":(\d{1,5})(?=,|$)", value) if "://" in value else []
    if _SPARK_MASTER.match(value) and all(1 <= int(p) <= 65535 for p in ports):
        return None
    return ("expected local, local[N], local[*], local[N,F], spark://host:port[,host:port...], "
            "k8s://[https://]host[:port] or yarn")


def memory_bytes(text: str) -> int | None:
    """Bytes of a JVM size such as 512m or 2g; None when it is not one."""
    match = _MEMORY.match(text)
    return int(match.group(1)) << _MEMORY_SHIFT[match.group(2).lower()] if match else None


def _jvm_memory(value: str) -> str | None:
    # A bare number means bytes to -Xmx and MiB to Spark, and 1gb is refused by -Xmx: insist on k/m/g/t.
    return None if memory_bytes(value) is not None else "expected a JVM size such as 512m, 2g or 2048k"


def _spark_memory(value: str) -> str | None:
    size = memory_bytes(value)
    if size is None:
        return _jvm_memory(value)
    return None if size >= SPARK_MIN_MEMORY else "expected at least 512m (Spark refuses a heap under 450 MiB)"


def _pattern(regex: str, expected: str) -> Callable[[str], str | None]:
    compiled = re.compile(regex)
    return lambda value: None if compiled.match(value) else expected


def _window(value: float) -> str | None:
    return None if value >= 1 else "expected at least 1s"


def _connection_age(value: float) -> str | None:
    # Binance closes a connection at 24 h; the producer must open the next one before that.
    return None if value < 24 * 3600 else "expected less than 24h (Binance closes a connection at 24 h)"


_KEY_RULES: dict[str, Callable[[Any], str | None]] = {
    "exchange.weight_headroom": _headroom,
    "exchange.ws_max_connection_age": _connection_age,
    "kafka.bootstrap_servers": _bootstrap_servers,
    "kafka.heap": _jvm_memory,
    "producer.compression": _compression,
    "processor.spark_master": _spark_master,
    "processor.window": _window,
    "processor.driver_memory": _spark_memory,
    "processor.executor_memory": _spark_memory,
    # it names the checkpoint folder under var/checkpoints
    "processor.query_name": _pattern(r"^[A-Za-z0-9_-]{1,64}$", "expected 1-64 letters, digits, _ or -"),
    "mysql.host": _pattern(r"^[A-Za-z0-9._:-]{1,255}$", "expected a host name or IP address"),
    # MySQL 8 user names have at most 32 characters; bin/up puts this one into SQL
    "mysql.user": _pattern(r"^[A-Za-z0-9_]{1,32}$", "expected 1-32 letters, digits or _"),
    "metrics.producer_port": _port_or_off,
    "metrics.processor_port": _port_or_off,
    "checks.api_failure_rate_warn": _share,
    "checks.api_failure_rate_fail": _share,
}
_POSITIVE = {"poll_interval", "window", "trigger_interval", "partitions", "read_timeout", "connect_timeout",
             "buffer_max_messages", "shuffle_partitions", "replication_factor", "min_insync_replicas",
             "weight_limit_per_minute", "backoff_max", "ws_max_connection_age", "retention", "freshness",
             "symbol_check_interval"}  # 0 would ask exchangeInfo (weight 20) on every poll


def _value_problem(section: str, name: str, value: Any) -> str | None:
    rule = _KEY_RULES.get(f"{section}.{name}")
    problem = rule(value) if rule else None
    if problem or isinstance(value, bool) or not isinstance(value, (int, float)):
        return problem
    if value < 0:
        return "must not be negative"
    if name in _POSITIVE and value <= 0:
        return "must be greater than 0"
    return None


def _closest(name: str, choices: Any, prefix: str = "") -> str:
    close = difflib.get_close_matches(name, sorted(choices), n=1)
    return f"; did you mean {prefix}{close[0]}?" if close else ""


def _section_values(section: str, cls: type, parser: configparser.ConfigParser,
                    env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    known = [f.name for f in fields(cls)]
    if parser.has_section(section):
        unknown = sorted(set(parser.options(section)) - set(known))
        if unknown:
            raise ConfigError(f"{section}.{unknown[0]}: unknown key{_closest(unknown[0], known)}")
    for name in known:
        env_key = f"{ENV_PREFIX}{section}_{name}".upper()
        raw = env.get(env_key, parser.get(section, name, fallback=None))
        if raw is None:
            continue
        shown = "********" if name == "password" else raw
        try:
            values[name] = _PARSERS[_field_type(cls, name)](raw)
        except ValueError as exc:
            raise ConfigError(f"{section}.{name}: {exc} (got {shown!r})") from None
        problem = _value_problem(section, name, values[name])
        if problem:
            raise ConfigError(f"{section}.{name}: {problem} (got {shown!r})")
    return values


_SECTIONS = {"exchange": ExchangeConfig, "simulator": SimulatorConfig, "kafka": KafkaConfig,
             "producer": ProducerConfig, "processor": ProcessorConfig, "mysql": MySQLConfig,
             "checks": ChecksConfig, "metrics": MetricsConfig}

# CRYPTOSTREAM_* variables the project reads that are not CRYPTOSTREAM_<SECTION>_<KEY> settings,
# collected from bin/, docker/, conf/, cryptostream/ and tests/. Any other CRYPTOSTREAM_* variable
# is a typo and stops loading; add a new variable here when code starts reading one.
OTHER_VARIABLES = frozenset({
    "CONFIG", "HOME", "JARS_DIR", "MYSQL_PASSWORD_FILE",   # read by load()
    "SQL_DIR",                                             # cryptostream/core/db.py
    "BIN", "LOG_MAXBYTES", "PIPELINE_AUTOSTART",           # conf/supervisor/pipeline.conf, app image
    "VENV", "PYTHON",                                      # bin/lib/bootstrap.sh
    "COMPOSE_PROJECT", "SECRETS_DIR", "KAFKA_CLUSTER_ID",  # ops/docker_stack.py, docker/compose.yml
    "KAFKA_IMAGE", "MYSQL_IMAGE", "APP_IMAGE",             # image overrides of docker/compose.yml
    "DEBUG",                                               # cryptostream/ops/cli.py: show tracebacks
})


def _check_environment(env: Mapping[str, str]) -> None:
    """Reject CRYPTOSTREAM_* variables that name nothing, instead of silently ignoring a typo."""
    valid = {f"{section}_{f.name}".upper() for section, cls in _SECTIONS.items() for f in fields(cls)}
    valid |= OTHER_VARIABLES
    for name in sorted(env):
        upper = name.upper()
        rest = upper[len(ENV_PREFIX):]
        if upper.startswith(ENV_PREFIX) and (name != upper or rest not in valid):  # lower case is not read
            # compared without the common prefix, which would make every name look close; never the value
            raise ConfigError(f"{name}: no such setting{_closest(rest, valid, ENV_PREFIX)}")


def _read_secret(path: Path, key: str) -> str:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ConfigError(f"{key}: cannot read the password file {path} ({reason})") from None


def _read_password(var_dir: Path, env: Mapping[str, str]) -> Secret:
    """CRYPTOSTREAM_MYSQL_PASSWORD_FILE, which must then be readable and not empty, or the file bin/up
    generates, which is absent before the first bin/up (an empty secret, as the tools expect)."""
    key = f"{ENV_PREFIX}MYSQL_PASSWORD_FILE"
    if key in env:
        path = Path(env[key])
        text = _read_secret(path, key)
        if not text:
            raise ConfigError(f"{key}: the password file {path} is empty")
        return Secret(text)
    default = var_dir / "secrets" / "mysql-password"
    return Secret(_read_secret(default, "mysql.password")) if default.exists() else Secret("")


def _read_file(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        found = parser.read(path)
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path}: {str(exc).splitlines()[0]}") from None
    if not found:
        raise ConfigError(f"config file {path} not found or unreadable")
    unknown = sorted(set(parser.sections()) - _SECTIONS.keys())
    if unknown:
        raise ConfigError(f"[{unknown[0]}]: unknown section in {path}{_closest(unknown[0], _SECTIONS)}")
    return parser


def default_home(env: Mapping[str, str]) -> Path:
    """The data folder when CRYPTOSTREAM_HOME is unset: var/ of a checkout; installed, the
    XDG data folder, or /var/lib/cryptostream for root (the service user cannot enter /root)."""
    if CHECKOUT is not None:
        return CHECKOUT / "var"
    if os.geteuid() == 0:
        return Path("/var/lib/cryptostream")
    return Path(env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "cryptostream"


def load(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read the config file and the environment; raise ConfigError on any bad value."""
    env = os.environ if env is None else env
    _check_environment(env)
    path = Path(path or env.get(f"{ENV_PREFIX}CONFIG", DEFAULT_CONFIG_FILE))
    parser = _read_file(path)
    var_dir = Path(env.get(f"{ENV_PREFIX}HOME") or default_home(env)).resolve()
    sections = {name: cls(**_section_values(name, cls, parser, env)) for name, cls in _SECTIONS.items()}
    jars_dir = Path(env.get(f"{ENV_PREFIX}JARS_DIR", var_dir / "jars")).resolve()
    config = Config(var_dir=var_dir, jars_dir=jars_dir, **sections)
    given = config.mysql.password.reveal()
    if not given or f"{ENV_PREFIX}MYSQL_PASSWORD_FILE" in env:  # a file given is checked even if unused
        from_file = _read_password(var_dir, env)
        if not given:  # a password given directly wins, as before
            config = dataclasses.replace(config, mysql=dataclasses.replace(config.mysql, password=from_file))
    _check_cross_fields(config)
    return config


# ---- rules across keys ---------------------------------------------------------------------

def _seconds(value: float) -> str:
    return f"{value:g}s"


def _show(value: float) -> str:
    return _seconds(value) if isinstance(value, Duration) else str(value)


def _check_cross_fields(config: Config) -> None:
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
    if not re.match(r"^wss?://[^\s/]+$", url) or not _url_port_ok(url):
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
