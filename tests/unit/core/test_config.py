"""Configuration: defaults, environment overrides, errors that name the key, secrets hidden."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from cryptostream.core.config import SYMBOL_PATTERN, ConfigError, Secret, load
from tests.helpers.harness import PROJECT_DIR


def test_defaults_match_the_documented_file() -> None:
    """The shipped file loads and gives the product's defaults."""
    config = load(env={"CRYPTOSTREAM_HOME": "/tmp/cs-home"})
    assert config.exchange.symbols == ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "ADAUSDT")
    assert config.exchange.poll_interval == 1.0
    assert config.kafka.topic == "crypto_prices"
    assert config.kafka.partitions == 3
    assert config.kafka.retention == 24 * 3600
    assert config.processor.window == 60
    assert config.processor.watermark == 30
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
    assert "hunter2" not in repr(config)
    assert "hunter2" not in str(config.mysql.password)
    assert Secret("a") == Secret("a")


# ---- one test per validation rule (issue 11: configuration that fails at load, naming the key) ----

@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """An environment with a home of its own, so no operator's secrets file is read."""
    return {"CRYPTOSTREAM_HOME": str(tmp_path)}


def error_of(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        load(env=env)
    message = str(caught.value)
    assert "\n" not in message
    assert "Traceback" not in message
    return message


def setting(key: str) -> str:
    """section.key -> CRYPTOSTREAM_SECTION_KEY."""
    return "CRYPTOSTREAM_" + key.replace(".", "_").upper()


def rejected(home: dict[str, str], key: str, value: str, expected: str = "") -> str:
    """Loading with key = value fails with a one-line message naming key (and saying `expected`)."""
    message = error_of({**home, setting(key): value})
    assert message.startswith(f"{key}:"), message
    assert expected in message, message
    return message


@pytest.mark.parametrize("key", ["kafka.port", "kafka.controller_port", "mysql.port", "simulator.port",
                                 "simulator.mirror_port", "simulator.ws_port"])
@pytest.mark.parametrize("value", ["0", "65536", "-1", "abc", "80.5"])
def test_ports_are_1_to_65535(home, key: str, value: str) -> None:
    rejected(home, key, value, f"(got '{value}')")


def test_ports_inside_addresses_are_checked(home) -> None:
    rejected(home, "kafka.bootstrap_servers", "127.0.0.1:70000", "host:port")
    rejected(home, "kafka.bootstrap_servers", "127.0.0.1", "host:port")
    rejected(home, "exchange.base_urls", "http://127.0.0.1:99999", "ports 1-65535")
    rejected(home, "exchange.base_urls", "http://127.0.0.1:0", "ports 1-65535")
    rejected(home, "exchange.ws_base_url", "ws://127.0.0.1:0", "ws(s)://host[:port]")
    config = load(env={**home, "CRYPTOSTREAM_KAFKA_BOOTSTRAP_SERVERS": "a.example:9092, [::1]:9094",
                       "CRYPTOSTREAM_EXCHANGE_BASE_URLS": "http://127.0.0.1:65535"})
    assert config.kafka.bootstrap_servers == "a.example:9092, [::1]:9094"


@pytest.mark.parametrize("key", ["metrics.producer_port", "metrics.processor_port"])
def test_metrics_ports_are_a_port_or_0_for_off(home, key: str) -> None:
    rejected(home, key, "65536", "or 0 for off")
    rejected(home, key, "-1", "or 0 for off")
    section, name = key.split(".")
    assert getattr(getattr(load(env={**home, setting(key): "0"}), section), name) == 0


@pytest.mark.parametrize("value", ["0", "1.01", "-0.5", "nan", "inf"])
def test_weight_headroom_is_above_0_and_at_most_1(home, value: str) -> None:
    rejected(home, "exchange.weight_headroom", value)
    assert load(env={**home, "CRYPTOSTREAM_EXCHANGE_WEIGHT_HEADROOM": "1"}).exchange.weight_headroom == 1


@pytest.mark.parametrize("key", ["checks.api_failure_rate_warn", "checks.api_failure_rate_fail"])
@pytest.mark.parametrize("value", ["1.5", "-0.1", "nan", "-inf"])
def test_api_failure_rates_are_shares_from_0_to_1(home, key: str, value: str) -> None:
    rejected(home, key, value)


@pytest.mark.parametrize("name, warn, fail", [("lag", "10", "5"), ("batch_p95", "31s", "30s"),
                                               ("api_failure_rate", "0.6", "0.5")])
def test_each_warn_threshold_is_at_most_its_fail_threshold(home, name: str, warn: str, fail: str) -> None:
    message = error_of({**home, setting(f"checks.{name}_warn"): warn, setting(f"checks.{name}_fail"): fail})
    assert message.startswith(f"checks.{name}_warn: must be at most checks.{name}_fail"), message
    load(env={**home, setting(f"checks.{name}_warn"): fail, setting(f"checks.{name}_fail"): fail})


@pytest.mark.parametrize("key, value", [("exchange.poll_interval", "nan"), ("exchange.read_timeout", "inf"),
                                        ("processor.window", "1" * 400), ("checks.freshness", "infs")])
def test_no_nan_or_infinite_durations(home, key: str, value: str) -> None:
    rejected(home, key, value)


@pytest.mark.parametrize("value", ["brotli", "GZIP", ""])
def test_compression_is_one_kafka_python_knows(home, value: str) -> None:
    rejected(home, "producer.compression", value, "none, gzip, snappy, lz4, zstd")
    for name in ("none", "gzip"):
        assert load(env={**home, "CRYPTOSTREAM_PRODUCER_COMPRESSION": name}).producer.compression == name


@pytest.mark.parametrize("name", ["snappy", "lz4", "zstd"])
def test_a_compression_needs_its_codec_installed(home, monkeypatch, name: str) -> None:
    from kafka import codec
    monkeypatch.setattr(codec, f"has_{name}", lambda: False)
    rejected(home, "producer.compression", name, f"kafka-python[{name}]")
    monkeypatch.setattr(codec, f"has_{name}", lambda: True)
    assert load(env={**home, "CRYPTOSTREAM_PRODUCER_COMPRESSION": name}).producer.compression == name


@pytest.mark.parametrize("master", ["local", "local[4]", "local[*]", "local[4,2]", "local[*,3]",
                                    "spark://127.0.0.1:7077", "spark://a.example:7077,b.example:7078",
                                    "k8s://https://10.0.0.1:6443", "k8s://api.example", "yarn"])
def test_spark_master_forms_accepted(home, master: str) -> None:
    assert load(env={**home, "CRYPTOSTREAM_PROCESSOR_SPARK_MASTER": master}).processor.spark_master == master


@pytest.mark.parametrize("master", ["", "local[0]", "local[x]", "local[4,]", "spark://host", "spark://h:70000",
                                    "spark://h:7077,", "mesos://h:5050", "k8s://", "yarn-cluster", "local [2]"])
def test_spark_master_other_forms_rejected(home, master: str) -> None:
    rejected(home, "processor.spark_master", master, "local[N]")


@pytest.mark.parametrize("value", ["512", "1gb", "0m", "-1g", "1.5g", "", "g"])
@pytest.mark.parametrize("key", ["kafka.heap", "processor.driver_memory", "processor.executor_memory"])
def test_memory_sizes_are_jvm_sizes(home, key: str, value: str) -> None:
    rejected(home, key, value, "512m, 2g or 2048k")


def test_memory_sizes_accepted_and_spark_minimum(home) -> None:
    for value in ("2048k", "256M", "1g", "1T"):
        assert load(env={**home, "CRYPTOSTREAM_KAFKA_HEAP": value}).kafka.heap == value
    rejected(home, "processor.driver_memory", "256m", "at least 512m")
    rejected(home, "processor.executor_memory", "524287k", "at least 512m")
    assert load(env={**home, "CRYPTOSTREAM_PROCESSOR_EXECUTOR_MEMORY": "512m"}).processor.executor_memory == "512m"


def test_window_is_at_least_one_second(home) -> None:
    rejected(home, "processor.window", "999ms", "at least 1s")
    config = load(env={**home, "CRYPTOSTREAM_PROCESSOR_WINDOW": "1s"})
    assert config.processor.window == 1


def test_fetch_max_wait_is_milliseconds_up_to_10s(home) -> None:
    """The Kafka source's fetch wait: 10ms by default, 0 allowed, more than 10s refused."""
    assert load(env=home).processor.fetch_max_wait == 0.01
    assert load(env={**home, "CRYPTOSTREAM_PROCESSOR_FETCH_MAX_WAIT": "0"}).processor.fetch_max_wait == 0
    rejected(home, "processor.fetch_max_wait", "11s", "expected from 0 to 10s")


def test_watermark_may_be_0_but_not_negative(home) -> None:
    assert load(env={**home, "CRYPTOSTREAM_PROCESSOR_WATERMARK": "0"}).processor.watermark == 0
    rejected(home, "processor.watermark", "-1s")


def test_watermark_keeps_at_most_100_windows_open(home) -> None:
    env = {**home, "CRYPTOSTREAM_PROCESSOR_WINDOW": "5s"}
    assert load(env={**env, "CRYPTOSTREAM_PROCESSOR_WATERMARK": "500s"}).processor.watermark == 500
    message = error_of({**env, "CRYPTOSTREAM_PROCESSOR_WATERMARK": "501s"})
    assert message == ("processor.watermark: must be at most 100 x processor.window (500s), "
                       "the windows per symbol kept open (got 501s)")


def test_window_and_watermark_end_within_kafka_retention(home) -> None:
    env = {**home, "CRYPTOSTREAM_PROCESSOR_WATERMARK": "30s"}
    message = error_of({**env, "CRYPTOSTREAM_KAFKA_RETENTION": "90s"})
    assert message.startswith("processor.watermark:")
    assert "kafka.retention (90s)" in message
    load(env={**env, "CRYPTOSTREAM_KAFKA_RETENTION": "91s"})
    message = error_of({**home, "CRYPTOSTREAM_PROCESSOR_WINDOW": "1h", "CRYPTOSTREAM_PROCESSOR_WATERMARK": "25h",
                        "CRYPTOSTREAM_KAFKA_RETENTION": "168h"})
    assert message.startswith("processor.watermark: must be at most 24h")


def test_trigger_interval_is_at_most_the_window(home) -> None:
    env = {**home, "CRYPTOSTREAM_PROCESSOR_WINDOW": "5s"}
    message = error_of({**env, "CRYPTOSTREAM_PROCESSOR_TRIGGER_INTERVAL": "6s"})
    assert message == "processor.trigger_interval: must be at most processor.window (5s) (got 6s)"
    assert load(env={**env, "CRYPTOSTREAM_PROCESSOR_TRIGGER_INTERVAL": "5s"}).processor.trigger_interval == 5


def test_no_duplicate_symbols(home) -> None:
    rejected(home, "exchange.symbols", "BTCUSDT,ETHUSDT,btcusdt", "repeated: BTCUSDT")


def test_the_symbol_rule_refuses_a_final_line_break(home) -> None:
    """The symbol rule ends at the end of the text ("$" let "BTCUSDT\\n" through); items are trimmed
    before the rule, so a line break around a listed symbol in the file or environment is not part of it."""
    assert SYMBOL_PATTERN.match("BTCUSDT")
    assert not SYMBOL_PATTERN.match("BTCUSDT\n")
    assert load(env={**home, "CRYPTOSTREAM_EXCHANGE_SYMBOLS": "BTCUSDT\n"}).exchange.symbols == ("BTCUSDT",)


def symbol_names(count: int) -> str:
    return ",".join(f"S{i:04d}USDT" for i in range(count))


def test_at_most_100_symbols_in_one_rest_request(home) -> None:
    assert len(load(env={**home, "CRYPTOSTREAM_EXCHANGE_SYMBOLS": symbol_names(100)}).exchange.symbols) == 100
    message = error_of({**home, "CRYPTOSTREAM_EXCHANGE_SYMBOLS": symbol_names(101)})
    assert message == "exchange.symbols: at most 100 with exchange.source = rest (got 101)"


def test_at_most_1024_symbols_on_one_websocket_connection(home) -> None:
    env = {**home, "CRYPTOSTREAM_EXCHANGE_SOURCE": "websocket"}
    assert len(load(env={**env, "CRYPTOSTREAM_EXCHANGE_SYMBOLS": symbol_names(1024)}).exchange.symbols) == 1024
    message = error_of({**env, "CRYPTOSTREAM_EXCHANGE_SYMBOLS": symbol_names(1025)})
    assert message == "exchange.symbols: at most 1024 with exchange.source = websocket (got 1025)"


def test_a_missing_password_file_names_the_variable(home, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "password"
    message = error_of({**home, "CRYPTOSTREAM_MYSQL_PASSWORD_FILE": str(missing)})
    assert message.startswith("CRYPTOSTREAM_MYSQL_PASSWORD_FILE: cannot read the password file")
    assert str(missing) in message
    # also when CRYPTOSTREAM_MYSQL_PASSWORD is given too (which wins): the file named is still wrong
    error_of({**home, "CRYPTOSTREAM_MYSQL_PASSWORD_FILE": str(missing), "CRYPTOSTREAM_MYSQL_PASSWORD": "x"})


def test_an_unreadable_or_empty_password_file_names_the_variable(home, tmp_path: Path) -> None:
    message = error_of({**home, "CRYPTOSTREAM_MYSQL_PASSWORD_FILE": str(tmp_path)})  # a folder
    assert message.startswith("CRYPTOSTREAM_MYSQL_PASSWORD_FILE: cannot read")
    (tmp_path / "empty").write_text("\n")
    message = error_of({**home, "CRYPTOSTREAM_MYSQL_PASSWORD_FILE": str(tmp_path / "empty")})
    assert message.startswith("CRYPTOSTREAM_MYSQL_PASSWORD_FILE: the password file")
    assert "is empty" in message


def test_a_given_password_file_is_read_and_never_shown(home, tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret-pw\n")
    config = load(env={**home, "CRYPTOSTREAM_MYSQL_PASSWORD_FILE": str(tmp_path / "pw")})
    assert config.mysql.password.reveal() == "s3cret-pw"
    message = error_of({**home, "CRYPTOSTREAM_MYSQL_PASSWORD_FILE": str(tmp_path / "pw"),
                        "CRYPTOSTREAM_MYSQL_PASSWROD": "s3cret-pw"})
    assert "s3cret-pw" not in message


def test_the_generated_password_file_may_be_absent_before_the_first_bin_up(home) -> None:
    assert load(env=home).mysql.password.reveal() == ""


def test_a_misspelt_variable_is_rejected_with_the_closest_name(home) -> None:
    message = error_of({**home, "CRYPTOSTREAM_PROCESOR_WINDOW": "5s"})
    assert message == "CRYPTOSTREAM_PROCESOR_WINDOW: no such setting; did you mean CRYPTOSTREAM_PROCESSOR_WINDOW?"
    assert "did you mean CRYPTOSTREAM_HOME?" in error_of({"CRYPTOSTREAM_HOEM": "/tmp/x"})
    assert "did you mean CRYPTOSTREAM_KAFKA_PORT?" in error_of({**home, "cryptostream_kafka_port": "1"})
    assert "did you mean CRYPTOSTREAM_HOME?" in error_of({"Cryptostream_HOME": "/tmp/x"})
    assert error_of({**home, "CRYPTOSTREAM_ZZZ": "1"}) == "CRYPTOSTREAM_ZZZ: no such setting"


def test_every_variable_the_project_uses_is_known() -> None:
    """Each CRYPTOSTREAM_* name in the code, scripts, images and tests is a setting or in
    config.OTHER_VARIABLES, so the typo check never rejects what the project itself sets."""
    from cryptostream.core import config as config_module
    settings = {f"CRYPTOSTREAM_{s}_{f.name}".upper() for s, cls in config_module._SECTIONS.items()
                for f in dataclasses.fields(cls)}
    known = settings | {f"CRYPTOSTREAM_{name}" for name in config_module.OTHER_VARIABLES}
    used = set()
    for folder in ("bin", "docker", "conf", "cryptostream", "tests"):
        for path in (PROJECT_DIR / folder).rglob("*"):
            if path.is_file() and path.suffix not in (".pyc", ".jar") and path.name != "test_config.py":
                text = path.read_text(errors="ignore")
                used |= {name for name in re.findall(r"CRYPTOSTREAM_[A-Z0-9_]+", text) if not name.endswith("_")}
    assert used - known == set()
    load(env={f"CRYPTOSTREAM_{name}": "/tmp/x" for name in config_module.OTHER_VARIABLES - {"MYSQL_PASSWORD_FILE",
                                                                                            "CONFIG"}})


def test_unknown_keys_and_sections_suggest_the_closest(tmp_path: Path) -> None:
    path = tmp_path / "c.ini"
    path.write_text("[processor]\nwatermak = 5s\n")
    with pytest.raises(ConfigError, match=r"^processor\.watermak: unknown key; did you mean watermark\?$"):
        load(path, env={})
    path.write_text("[procesor]\nwindow = 5s\n")
    with pytest.raises(ConfigError, match=r"unknown section .*did you mean processor\?$"):
        load(path, env={})


def test_a_malformed_file_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "c.ini"
    path.write_text("[processor]\nwindow = 5s\nwindow = 6s\n")
    with pytest.raises(ConfigError, match="already exists"):
        load(path, env={})
    path.write_text("window = 5s\n")
    with pytest.raises(ConfigError, match="no section headers"):
        load(path, env={})


@pytest.mark.parametrize("key, value, expected", [
    ("kafka.partitions", "1.5", "whole number"),
    ("mysql.user", "app'; --", "letters, digits or _"),
    ("mysql.user", "u" * 33, "1-32"),
    ("mysql.host", "db host", "host name"),
    ("processor.query_name", "../../etc", "letters, digits"),
    ("exchange.ws_max_connection_age", "24h", "less than 24h"),
    ("exchange.weight_limit_per_minute", "0", "greater than 0"),
    ("kafka.retention", "0", "greater than 0"),
])
def test_other_single_value_rules(home, key: str, value: str, expected: str) -> None:
    rejected(home, key, value, expected)


def test_backoff_max_is_at_least_backoff_initial(home) -> None:
    message = error_of({**home, "CRYPTOSTREAM_EXCHANGE_BACKOFF_INITIAL": "10s",
                        "CRYPTOSTREAM_EXCHANGE_BACKOFF_MAX": "5s"})
    assert message == "exchange.backoff_max: must be at least exchange.backoff_initial (10s) (got 5s)"


def test_the_shipped_file_loads_with_no_other_setting(tmp_path: Path) -> None:
    config = load(env={"CRYPTOSTREAM_HOME": str(tmp_path)})
    assert config.producer.compression == "gzip"
    assert config.processor.spark_master == "local[*]"


def test_the_dashboards_password_file_overrides_the_generated_one(tmp_path) -> None:
    """dashboard.password_file (the app container's secret) wins over var/secrets' file; a file
    named but missing is an error, not an empty password."""
    from cryptostream.core import db
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "mysql-reader-password").write_text("generated\n")
    given = tmp_path / "reader-secret"
    given.write_text("mounted\n")
    generated = load(env={"CRYPTOSTREAM_HOME": str(tmp_path)})
    assert db.reader_password(generated).reveal() == "generated"
    mounted = load(env={"CRYPTOSTREAM_HOME": str(tmp_path), "CRYPTOSTREAM_DASHBOARD_PASSWORD_FILE": str(given)})
    assert db.reader_password(mounted).reveal() == "mounted"
    missing = load(env={"CRYPTOSTREAM_HOME": str(tmp_path), "CRYPTOSTREAM_DASHBOARD_PASSWORD_FILE": str(tmp_path / "x")})
    with pytest.raises(OSError):
        db.reader_password(missing)
