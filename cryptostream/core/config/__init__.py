"""The one configuration object: conf/cryptostream.ini, then CRYPTOSTREAM_<SECTION>_<KEY> overrides,
every value validated when loaded, so a bad one stops a program at start with a ConfigError naming the key."""
from __future__ import annotations

from cryptostream.core.config.cross_checks import MAX_OPEN_WINDOWS, MAX_SYMBOLS, SOURCES
from cryptostream.core.config.errors import ConfigError
from cryptostream.core.config.loader import DEFAULT_CONFIG_FILE, ENV_PREFIX, OTHER_VARIABLES, default_home, env_name, load
from cryptostream.core.config.sections import (SECTIONS, SYMBOL_PATTERN, ChecksConfig, Config, DashboardConfig,
                                               Duration, ExchangeConfig, KafkaConfig, MetricsConfig, MySQLConfig,
                                               ProcessorConfig, ProducerConfig, Port, Secret, SimulatorConfig,
                                               StatsConfig, Symbols, Urls)
from cryptostream.core.config.value_rules import COMPRESSIONS, SPARK_MIN_MEMORY
from cryptostream.core.config.values import memory_bytes

_SECTIONS = SECTIONS  # the name this mapping had when config was one module

__all__ = ["COMPRESSIONS", "DEFAULT_CONFIG_FILE", "ENV_PREFIX", "env_name", "MAX_OPEN_WINDOWS", "MAX_SYMBOLS", "OTHER_VARIABLES",
           "SECTIONS", "SOURCES", "SPARK_MIN_MEMORY", "SYMBOL_PATTERN", "ChecksConfig", "Config", "ConfigError",
           "DashboardConfig", "Duration", "ExchangeConfig", "KafkaConfig", "MetricsConfig", "MySQLConfig", "Port",
           "ProcessorConfig", "ProducerConfig", "Secret", "SimulatorConfig", "StatsConfig", "Symbols", "Urls", "default_home", "load",
           "memory_bytes"]
