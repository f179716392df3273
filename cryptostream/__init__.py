"""cryptostream: Binance prices -> Kafka -> Spark Structured Streaming -> MySQL."""
from cryptostream.core.config import Config, ConfigError, load as load_config
from cryptostream.pipeline.schema import SCHEMA_VERSION, PriceMessage, Reason

__all__ = ["Config", "ConfigError", "load_config", "PriceMessage", "Reason", "SCHEMA_VERSION"]
__version__ = "0.1.0"
