"""Rules on one setting's value: each returns what is expected, or None when the value is fine."""
from __future__ import annotations

import re
from typing import Any, Callable

from cryptostream.core.config.values import memory_bytes

_HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
_HOST_PORT = re.compile(rf"^{_HOST}:(\d{{1,5}})$")
_SPARK_MASTER = re.compile(r"^(?:yarn|local(?:\[(?:\*|[1-9]\d*)(?:,[1-9]\d*)?\])?"
                           rf"|spark://{_HOST}:\d{{1,5}}(?:,{_HOST}:\d{{1,5}})*"
                           rf"|k8s://(?:https?://)?{_HOST}(?::\d{{1,5}})?)$")
SPARK_MIN_MEMORY = 512 << 20  # Spark refuses a driver or executor heap under 450 MiB
# What kafka-python's producer accepts (publisher.py maps none to None); the last three need a library.
COMPRESSIONS = ("none", "gzip", "snappy", "lz4", "zstd")


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


def _between(low: float, high: float, expected: str) -> Callable[[float], str | None]:
    return lambda value: None if low <= value <= high else expected


_KEY_RULES: dict[str, Callable[[Any], str | None]] = {
    "exchange.weight_headroom": _headroom,
    "exchange.ws_max_connection_age": _connection_age,
    "kafka.bootstrap_servers": _bootstrap_servers,
    "kafka.heap": _jvm_memory,
    "producer.compression": _compression,
    "processor.spark_master": _spark_master,
    "processor.window": _window,
    "processor.driver_memory": _spark_memory,
    "processor.fetch_max_wait": _between(0, 10, "expected from 0 to 10s"),
    "processor.summary": _pattern(r"^(jvm|sql)$", "expected jvm or sql"),
    "processor.executor_memory": _spark_memory,
    # it names the checkpoint folder under var/checkpoints
    "processor.query_name": _pattern(r"^[A-Za-z0-9_-]{1,64}$", "expected 1-64 letters, digits, _ or -"),
    "mysql.host": _pattern(r"^[A-Za-z0-9._:-]{1,255}$", "expected a host name or IP address"),
    # MySQL 8 user names have at most 32 characters; bin/up puts this one into SQL
    "mysql.user": _pattern(r"^[A-Za-z0-9_]{1,32}$", "expected 1-32 letters, digits or _"),
    "dashboard.user": _pattern(r"^[A-Za-z0-9_]{1,32}$", "expected 1-32 letters, digits or _"),
    "metrics.producer_port": _port_or_off,
    "metrics.processor_port": _port_or_off,
    "checks.api_failure_rate_warn": _share,
    "checks.api_failure_rate_fail": _share,
    # the monthly review reads 30 days back; a shorter history would make its figures partial
    "stats.retention": _between(31 * 86400, 10 * 366 * 86400, "expected from 31d to 10 years"),
    "stats.write_interval": _between(1, 3600, "expected from 1s to 1h"),
    # held in memory while MySQL is away: a minute of figures costs about a kilobyte
    "stats.max_unwritten": _between(60, 86400, "expected from 1m to 1d"),
    # a row per micro-batch: about 86,400 a day at the 1 s trigger
    "stats.latency_retention": _between(3600, 400 * 86400, "expected from 1h to 400d"),
}
_POSITIVE = {"poll_interval", "window", "trigger_interval", "partitions", "read_timeout", "connect_timeout",
             "buffer_max_messages", "shuffle_partitions", "replication_factor", "min_insync_replicas",
             "weight_limit_per_minute", "backoff_max", "ws_max_connection_age", "retention", "freshness",
             "symbol_check_interval"}  # 0 would ask exchangeInfo (weight 20) on every poll


def value_problem(section: str, name: str, value: Any) -> str | None:
    """What is wrong with the parsed value of section.name, or None."""
    rule = _KEY_RULES.get(f"{section}.{name}")
    problem = rule(value) if rule else None
    if problem or isinstance(value, bool) or not isinstance(value, (int, float)):
        return problem
    if value < 0:
        return "must not be negative"
    if name in _POSITIVE and value <= 0:
        return "must be greater than 0"
    return None

