"""Loading the configuration: conf/cryptostream.ini, then CRYPTOSTREAM_<SECTION>_<KEY> overrides, the
MySQL password file and the data folder; an unknown section, key or variable is refused."""
from __future__ import annotations

import configparser
import dataclasses
import difflib
import os
from dataclasses import fields
from pathlib import Path
from typing import Any, Mapping

from cryptostream.core.config.cross_checks import check_cross_fields
from cryptostream.core.config.errors import ConfigError
from cryptostream.core.config.sections import SECTIONS, Config, Secret
from cryptostream.core.config.value_rules import value_problem
from cryptostream.core.config.values import parse
from cryptostream.core.shipped_files import CHECKOUT, CONF_DIR

DEFAULT_CONFIG_FILE = CONF_DIR / "cryptostream.ini"
ENV_PREFIX = "CRYPTOSTREAM_"


def env_name(setting: str) -> str:
    """The environment variable that overrides a setting ("section.key")."""
    return f"{ENV_PREFIX}{setting.replace('.', '_')}".upper()


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
        env_key = env_name(f"{section}.{name}")
        raw = env.get(env_key, parser.get(section, name, fallback=None))
        if raw is None:
            continue
        shown = "********" if name == "password" else raw
        try:
            values[name] = parse(cls, name, raw)
        except ValueError as exc:
            raise ConfigError(f"{section}.{name}: {exc} (got {shown!r})") from None
        problem = value_problem(section, name, values[name])
        if problem:
            raise ConfigError(f"{section}.{name}: {problem} (got {shown!r})")
    return values


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
    "PROMETHEUS_IMAGE", "GRAFANA_IMAGE", "GRAFANA_PORT",   # docker/compose.monitoring.yml
    "DEBUG",                                               # cryptostream/ops/cli.py: show tracebacks
})


def _check_environment(env: Mapping[str, str]) -> None:
    """Reject CRYPTOSTREAM_* variables that name nothing, instead of silently ignoring a typo."""
    valid = {f"{section}_{f.name}".upper() for section, cls in SECTIONS.items() for f in fields(cls)}
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
    unknown = sorted(set(parser.sections()) - SECTIONS.keys())
    if unknown:
        raise ConfigError(f"[{unknown[0]}]: unknown section in {path}{_closest(unknown[0], SECTIONS)}")
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
    sections = {name: cls(**_section_values(name, cls, parser, env)) for name, cls in SECTIONS.items()}
    jars_dir = Path(env.get(f"{ENV_PREFIX}JARS_DIR", var_dir / "jars")).resolve()
    config = Config(var_dir=var_dir, jars_dir=jars_dir, **sections)
    given = config.mysql.password.reveal()
    if not given or f"{ENV_PREFIX}MYSQL_PASSWORD_FILE" in env:  # a file given is checked even if unused
        from_file = _read_password(var_dir, env)
        if not given:  # a password given directly wins, as before
            config = dataclasses.replace(config, mysql=dataclasses.replace(config.mysql, password=from_file))
    check_cross_fields(config)
    return config
