"""Configuration: defaults, environment overrides, errors that name the key, secrets hidden."""
from __future__ import annotations

from pathlib import Path

import pytest

from cryptostream.config import ConfigError, Secret, load


def test_defaults_match_the_documented_file() -> None:
    """The shipped file loads and gives the product's defaults."""
    config = load(env={"CRYPTOSTREAM_HOME": "/tmp/cs-home"})
    assert config.exchange.symbols == ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "ADAUSDT")
    assert config.exchange.poll_interval == 1.0
    assert config.kafka.topic == "crypto_prices" and config.kafka.partitions == 3
    assert config.kafka.retention == 24 * 3600
    assert config.processor.window == 60 and config.processor.watermark == 30
    assert config.mysql.database == "crypto_streaming"
    assert config.var_dir == Path("/tmp/cs-home")


def test_environment_overrides_file_values() -> None:
    """CRYPTOSTREAM_<SECTION>_<KEY> wins over the file, with the key's own parsing."""
    config = load(env={"CRYPTOSTREAM_PROCESSOR_WINDOW": "5s", "CRYPTOSTREAM_PROCESSOR_WATERMARK": "250ms",
                       "CRYPTOSTREAM_EXCHANGE_SYMBOLS": "btcusdt, ethusdt",
                       "CRYPTOSTREAM_KAFKA_PORT": "19092"})
    assert config.processor.window == 5.0
    assert config.processor.watermark == 0.25
    assert config.exchange.symbols == ("BTCUSDT", "ETHUSDT")
    assert config.kafka.port == 19092


@pytest.mark.parametrize("key, value, fragment", [
    ("CRYPTOSTREAM_PROCESSOR_WINDOW", "soon", "processor.window"),
    ("CRYPTOSTREAM_KAFKA_PORT", "70000", "kafka.port"),
    ("CRYPTOSTREAM_KAFKA_PARTITIONS", "0", "kafka.partitions"),
    ("CRYPTOSTREAM_EXCHANGE_SYMBOLS", "BTC-USDT", "exchange.symbols"),
    ("CRYPTOSTREAM_EXCHANGE_BASE_URLS", "ftp://x", "exchange.base_urls"),
    ("CRYPTOSTREAM_PROCESSOR_FAIL_ON_DATA_LOSS", "maybe", "processor.fail_on_data_loss"),
    ("CRYPTOSTREAM_MYSQL_DATABASE", "x; DROP", "mysql.database"),
])
def test_bad_values_name_their_key(key: str, value: str, fragment: str) -> None:
    """A bad value stops loading with an error that names section.key."""
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")):
        load(env={key: value})


def test_unknown_key_in_file_is_an_error(tmp_path: Path) -> None:
    """A misspelt key is reported rather than silently ignored."""
    path = tmp_path / "c.ini"
    path.write_text("[processor]\nwindw = 5s\n")
    with pytest.raises(ConfigError, match="processor.windw"):
        load(path, env={})


def test_password_never_shows(tmp_path: Path) -> None:
    """The MySQL password is read from the secrets file and hidden in repr and errors."""
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "mysql-password").write_text("hunter2-very-secret\n")
    config = load(env={"CRYPTOSTREAM_HOME": str(tmp_path)})
    assert config.mysql.password.reveal() == "hunter2-very-secret"
    assert "hunter2" not in repr(config) and "hunter2" not in str(config.mysql.password)
    assert Secret("a") == Secret("a")
