"""docker/compose.yml gives every service a health check, a restart policy, a memory limit and
rotated logs, and the app time enough to stop its programs in order."""
from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest
import yaml

from tests.helpers.harness import PROJECT_DIR

SERVICES = yaml.safe_load((PROJECT_DIR / "docker" / "compose.yml").read_text())["services"]


def seconds(duration: str) -> int:
    return sum(int(n) * {"m": 60, "s": 1}[unit] for n, unit in re.findall(r"(\d+)([ms])", duration))


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_is_checked_limited_restarted_and_rotated(name) -> None:
    """A health check, unless-stopped, a memory limit and json-file logs capped in size and count."""
    service = SERVICES[name]
    assert service["healthcheck"]["test"][0] == "CMD"
    assert service["restart"] == "unless-stopped"
    assert service["mem_limit"]
    assert service["logging"]["driver"] == "json-file"
    assert set(service["logging"]["options"]) == {"max-size", "max-file"}


def test_the_apps_stop_grace_outlasts_supervisords_ordered_stop() -> None:
    """supervisord stops the app's programs (producer, processor, dashboard) one after the other,
    each up to its stopwaitsecs: docker stop must wait longer than all together before it kills them."""
    app = configparser.RawConfigParser()
    app.read(PROJECT_DIR / "docker" / "app" / "supervisord.conf")
    included = app.get("include", "files").split()
    programs = configparser.RawConfigParser()
    programs.read([PROJECT_DIR / "conf" / "supervisor" / Path(name).name for name in included])
    assert len(programs.sections()) == 3
    stops = sum(programs.getint(section, "stopwaitsecs") for section in programs.sections())
    assert seconds(SERVICES["app"]["stop_grace_period"]) > stops


def test_the_dashboards_password_reaches_mysqls_init_and_the_app_only() -> None:
    """The reader account's secret goes to MySQL (whose init creates the account) and to the app
    (whose dashboard logs in with it), and the app reads it from the file compose mounts."""
    holders = {name for name, service in SERVICES.items() if "mysql_reader_password" in service.get("secrets", [])}
    assert holders == {"mysql", "app"}
    assert SERVICES["app"]["environment"]["CRYPTOSTREAM_DASHBOARD_PASSWORD_FILE"] == "/run/secrets/mysql_reader_password"
    mounts = [volume.split(":")[1] for volume in SERVICES["mysql"]["volumes"]]
    assert "/docker-entrypoint-initdb.d/03-reader-user.sh" in mounts
