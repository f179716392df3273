"""The shape of the one configuration object: its sections as frozen dataclasses, and the
value types their fields declare."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

# \Z, not $: "$" also matches before a final line break, so "BTCUSDT\n" would pass.
SYMBOL_PATTERN = re.compile(r"^[A-Z0-9]{2,20}\Z")


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
    clock_check_interval: Duration = Duration(60.0)  # /api/v3/time (weight 1): our clock against theirs


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
    fetch_max_wait: Duration = Duration(0.01)  # the Kafka source's kafka.fetch.max.wait.ms
    max_future_skew: Duration = Duration(300.0)
    shuffle_partitions: int = 4
    one_task_below: int = 5_000  # messages; a smaller batch is aggregated in one task (0: never)
    summary: str = "jvm"  # how a batch is checked and aggregated: jvm (jvm_pass.py) or sql (classify.py)
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
    prometheus_port: Port = Port(9090)


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
    clock_offset_warn: Duration = Duration(0.5)


@dataclass(frozen=True)
class StatsConfig:
    """The per-minute statistics in MySQL (pipeline_stats) that the monthly review reads."""
    retention: Duration = Duration(400 * 86400)  # the processor deletes older minutes
    write_interval: Duration = Duration(60.0)  # the producer's writes; the processor writes with each batch
    max_unwritten: Duration = Duration(3600.0)  # minutes kept in memory while MySQL does not answer
    latency_retention: Duration = Duration(7 * 86400)  # message_latency: one row per micro-batch


@dataclass(frozen=True)
class DashboardConfig:
    """The live dashboard (cryptostream-dashboard): a read-only page on 127.0.0.1."""
    port: Port = Port(8050)
    user: str = "cryptostream_reader"  # SELECT on moving_averages only
    password_file: str = ""  # the account's password; empty: var/secrets/mysql-reader-password (bin/up's)


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
    stats: StatsConfig
    dashboard: DashboardConfig
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


# Each [section] of the file and CRYPTOSTREAM_<SECTION>_<KEY> prefix, with the dataclass it fills.
SECTIONS = {"exchange": ExchangeConfig, "simulator": SimulatorConfig, "kafka": KafkaConfig,
            "producer": ProducerConfig, "processor": ProcessorConfig, "mysql": MySQLConfig,
            "checks": ChecksConfig, "metrics": MetricsConfig, "stats": StatsConfig,
            "dashboard": DashboardConfig}
